"""The demo knowledge base (Acme: returns, shipping, warranty, accounts; English and Chinese), ready to chat with.

`prepare_demo(store)` adds the shipped folder to the knowledge base (unchanged documents are skipped, so a
restart costs a hash check), trains the intent model on its intents once (cached under the data dir by the
examples' hash) and warms the models, so the first customer does not wait for loading.
"""

from __future__ import annotations

from pathlib import Path

from townsquare.store import Store

DEMO_KB = Path(__file__).resolve().parents[1] / "assets" / "respond" / "demo_kb"


def prepare_demo(store: Store, data_dir: str | Path | None = None, *, warm: bool = True) -> str:
    """Load the demo KB and the intent model; returns one line saying what is there."""
    from townsquare.respond.assistant import get_assistant

    assistant = get_assistant(store)
    if data_dir is not None:
        assistant.data_dir = Path(data_dir)
    report = assistant.kb.add(DEMO_KB)
    model = assistant.intent_model()
    if warm:
        assistant.warm()
    n_intents = len([label for label in model.labels if label != "oos"]) if model else 0
    return (f"respond: demo knowledge base {report.added} added, {report.updated} updated, {report.unchanged} "
            f"unchanged documents; {n_intents} intents")


def kb_is_empty(store: Store) -> bool:
    from sqlalchemy import func, select

    from townsquare.store.tables import KbChunkRow

    with store.engine.connect() as conn:
        return not conn.execute(select(func.count(KbChunkRow.id))).scalar()
