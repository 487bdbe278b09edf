"""Running the Analyzer over a JSONL file or over the posts in the store, in batches.

Every input line gets exactly one output line, in order: a result, or `{"id": ..., "error": "<reason>"}`.
Posts in the store are embedded once; the embedding is stored with the analysis and never recomputed.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import BinaryIO

import numpy as np
import orjson
from sqlalchemy import select

from townsquare.errors import BadInput
from townsquare.store import Store
from townsquare.store.tables import AnalysisRow, EmbeddingRow, PostRow
from townsquare.understand.analyzer import HEADS_DIR, Analyzer

BATCH = 2_048


@functools.lru_cache(maxsize=1)
def get_analyzer() -> Analyzer:
    """One Analyzer per process: loading the embedder and heads costs seconds, a batch costs milliseconds."""
    return Analyzer()


@functools.lru_cache(maxsize=1)
def heads_version() -> str:
    """A short fingerprint of the shipped heads, stored with each analysis so stale results can be found."""
    h = hashlib.blake2b(digest_size=6)
    for cfg in sorted(HEADS_DIR.glob("*/config.json")):
        h.update(cfg.read_bytes())
    return h.hexdigest()


def output_record(post_id, result: dict) -> dict:
    """The public shape of one analysed post: `id` first, `error` only when there is one."""
    if result.get("error"):
        return {"id": post_id, "error": result["error"]}
    return {"id": post_id, **{k: v for k, v in result.items() if k != "error"}}


def _parse_line(number: int, raw: bytes) -> tuple[object, object, str | None, str | None]:
    """(id, text, lang, error) for one JSONL line. Invalid UTF-8 is replaced, not refused: a result beats an error."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        line = raw.decode("utf-8", errors="replace")
    if not line.strip():
        return None, None, None, f"line {number}: empty line — write one JSON object per line"
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return None, None, None, f"line {number}: invalid JSON ({exc}) — write one JSON object per line"
    if not isinstance(obj, dict):
        return None, None, None, f"line {number}: expected a JSON object with `id` and `text`"
    post_id, text, lang = obj.get("id"), obj.get("text"), obj.get("lang")
    if text is None:
        return post_id, None, None, "text: missing — every line needs a `text` field"
    if not isinstance(text, str):
        return post_id, None, None, f"text: expected a string, got {type(text).__name__}"
    return post_id, text, lang if isinstance(lang, str) and lang else None, None


def check_first_line(raw: bytes, name: str = "") -> None:
    """A whole CSV/TSV file given as JSONL would come back as one "invalid JSON" error per line: refuse it at its
    first non-empty line instead. Later bad lines still get their own error line (nothing is dropped)."""
    try:
        orjson.loads(raw)
        return
    except orjson.JSONDecodeError:
        pass
    if not name.lower().endswith((".csv", ".tsv")):
        return  # anything else keeps the contract: one output line per input line, bad ones as error records
    raise BadInput("--input", f"{name or 'the input'} looks like CSV, not JSONL (its first line is not JSON)",
                   'analyze reads JSONL: one object with `id` and `text` per line, e.g. {"id": 1, "text": "love it"}')


def analyze_lines(lines: Iterator[bytes], analyzer: Analyzer, batch: int = BATCH) -> Iterator[dict]:
    """Analyse JSONL lines in batches; yields one output record per input line, in order."""
    pending: list[tuple[object, object, str | None, str | None]] = []

    def flush() -> Iterator[dict]:
        ok = [k for k, p in enumerate(pending) if p[3] is None]
        results = analyzer.analyze([pending[k][1] for k in ok], [pending[k][2] for k in ok]) if ok else []
        by_index = dict(zip(ok, results, strict=True))
        for k, (post_id, _text, _lang, error) in enumerate(pending):
            yield {"id": post_id, "error": error} if error else output_record(post_id, by_index[k])
        pending.clear()

    for number, raw in enumerate(lines, start=1):
        pending.append(_parse_line(number, raw.rstrip(b"\r\n")))
        if len(pending) >= batch:
            yield from flush()
    if pending:
        yield from flush()


def analyze_jsonl(src: BinaryIO, dst: BinaryIO, analyzer: Analyzer | None = None,
                  on_progress: Callable[[int], None] | None = None, *, name: str = "") -> dict:
    """Stream `src` (JSONL bytes, from the file `name`) to `dst`; returns {"lines", "analysed", "errors"}.
    Raises BadInput, before writing anything, when the input is CSV (see `check_first_line`)."""
    analyzer = analyzer or get_analyzer()
    counts = {"lines": 0, "analysed": 0, "errors": 0}

    def lines() -> Iterator[bytes]:
        checked = False
        for raw in src:
            if not checked and raw.strip():
                check_first_line(raw, name)
                checked = True
            if on_progress:
                on_progress(len(raw))
            yield raw

    for rec in analyze_lines(lines(), analyzer):
        dst.write(orjson.dumps(rec, option=orjson.OPT_APPEND_NEWLINE))
        counts["lines"] += 1
        counts["errors" if "error" in rec else "analysed"] += 1
    return counts


def analyze_store(store: Store, analyzer: Analyzer | None = None, *, limit: int | None = None,
                  batch: int = BATCH, on_progress: Callable[[int], None] | None = None) -> dict:
    """Analyse posts that have no analysis from the current heads; store embeddings and results."""
    analyzer = analyzer or get_analyzer()
    version, model = heads_version(), analyzer.embedder.name
    p, a, e = PostRow.__table__.c, AnalysisRow.__table__.c, EmbeddingRow.__table__.c
    done = 0
    while limit is None or done < limit:
        size = batch if limit is None else min(batch, limit - done)
        q = (
            select(p.id, p.text, p.lang, e.vector)
            .select_from(
                PostRow.__table__.outerjoin(AnalysisRow.__table__, a.post_id == p.id)
                .outerjoin(EmbeddingRow.__table__, (e.post_id == p.id) & (e.model == model))
            )
            .where((a.post_id.is_(None)) | (a.version != version))
            .order_by(p.id)
            .limit(size)
        )
        with store.engine.connect() as conn:
            rows = conn.execute(q).all()
        if not rows:
            break
        analyze_rows(store, rows, analyzer, version)
        done += len(rows)
        if on_progress:
            on_progress(len(rows))
    return {"analysed": done, "version": version}


def analyze_rows(store: Store, rows, analyzer: Analyzer, version: str | None = None) -> tuple[np.ndarray, list[dict]]:
    """Analyse rows with `id`, `text`, `lang` and `vector` (the stored embedding or None), store the results and
    the new embeddings, and return (embeddings, results). Stored embeddings are reused, never recomputed."""
    version, model = version or heads_version(), analyzer.embedder.name
    texts = [r.text for r in rows]
    stored = [r.vector is not None for r in rows]
    missing = [i for i, s in enumerate(stored) if not s]
    fresh = analyzer.embed([texts[i] for i in missing]) if missing else None  # embed once: only the new
    dim = fresh.shape[1] if fresh is not None else len(rows[0].vector) // 4
    emb = np.empty((len(rows), dim), dtype=np.float32)
    for i, r in enumerate(rows):
        if stored[i]:
            emb[i] = np.frombuffer(r.vector, dtype=np.float32)
    if missing:
        emb[missing] = fresh
    results = analyzer.analyze_embedded(texts, emb, [r.lang for r in rows])
    _save(store, rows, emb, stored, results, version, model)
    return emb, results


def _save(store: Store, rows, emb: np.ndarray, stored: list[bool], results: list[dict], version: str,
          model: str) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    analyses = [
        {"post_id": r.id, "version": version, "lang": res.get("lang"),
         "sentiment": (res.get("sentiment") or {}).get("label"), "emotion": (res.get("emotion") or {}).get("label"),
         "toxicity": res.get("toxicity"), "crisis_informative": res.get("crisis_informative"),
         "result": res, "analyzed_at": now}
        for r, res in zip(rows, results, strict=True)
    ]
    vectors = [
        {"post_id": r.id, "model": model, "dim": emb.shape[1], "vector": emb[i].astype(np.float32).tobytes()}
        for i, r in enumerate(rows) if not stored[i]
    ]
    with store.engine.begin() as conn:
        stmt = store.insert(AnalysisRow.__table__)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=["post_id"], set_={k: stmt.excluded[k] for k in analyses[0] if k != "post_id"}), analyses)
        if vectors:
            conn.execute(store.insert(EmbeddingRow.__table__).on_conflict_do_nothing(), vectors)
