"""`townsquare kb add|list|remove|search`: the knowledge base the assistant answers from."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from townsquare.cli import app, console
from townsquare.errors import BadInput, NotFound

kb_app = typer.Typer(help="Knowledge base: add documents, FAQ and intents; list, remove, search.",
                     no_args_is_help=True)
app.add_typer(kb_app, name="kb")
out = console(highlight=False, soft_wrap=True)


def _kb():
    from townsquare.respond.kb import KnowledgeBase
    from townsquare.store import Store

    return KnowledgeBase(Store())


@kb_app.command("add")
def add_cmd(
    paths: list[Path] = typer.Argument(..., help="Files or folders: .md .html .txt, FAQ .csv (question,answer), "
                                                 "intents .jsonl or .csv (intent,text)."),
) -> None:
    """Add (or update) documents. A changed document replaces its chunks; an unchanged one is skipped."""
    kb = _kb()
    t0 = time.perf_counter()
    totals = dict(added=0, updated=0, unchanged=0, removed=0, chunks=0)
    failures, flagged = [], []
    for path in paths:
        report = kb.add(path)
        for k in totals:
            totals[k] += getattr(report, k)
        failures += report.failures
        flagged += report.flagged
    for source, reason in flagged:
        out.print(Text.assemble(("flagged", "yellow"), f" {source}: {reason} — kept for review, never retrieved"))
    for source, reason in failures:
        out.print(Text.assemble(("skipped", "red"), f" {source}: {reason}"))
    out.print(f"{totals['added']} added, {totals['updated']} updated, {totals['unchanged']} unchanged, "
              f"{totals['removed']} removed; {totals['chunks']} chunks embedded in {time.perf_counter() - t0:.1f} s"
              + (f"; {len(flagged)} flagged as prompt injection" if flagged else "")
              + (f"; {len(failures)} file(s) or row(s) skipped" if failures else ""))
    if failures and not (totals["added"] or totals["updated"] or totals["unchanged"]):
        raise BadInput("PATH", "no file could be used", "fix the files named above")


@kb_app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json", help="One JSON object per document.")) -> None:
    """Every document: key, language, kind, chunks, source; flagged ones say why."""
    docs = _kb().documents()
    if as_json:
        for d in docs:
            out.print(json.dumps({**d, "updated_at": d["updated_at"].isoformat()}, ensure_ascii=False))
        return
    if not docs:
        out.print("the knowledge base is empty — add documents with `townsquare kb add PATH`")
        return
    table = Table(show_edge=False, pad_edge=False)
    for col in ("key", "lang", "kind", "chunks", "title", "source", "notes"):
        table.add_column(col, overflow="fold")
    for d in docs:
        notes = ", ".join(n for n in ("sensitive" if d["sensitive"] else "",
                                      f"flagged: {d['flag_reason']}" if d["flagged"] else "") if n)
        table.add_row(d["doc_key"], d["lang"], d["kind"], str(d["chunks"]), d["title"][:60], d["source"], notes)
    out.print(table)
    out.print(f"{len(docs)} documents, {sum(d['chunks'] for d in docs)} chunks")


@kb_app.command("remove")
def remove_cmd(
    what: str = typer.Argument(..., help="A document key (all its languages), an intent name, a source or a path."),
) -> None:
    """Remove documents by key, intent name, source or file/folder path."""
    n = _kb().remove(what)
    if not n:
        raise NotFound(f"kb: no document has the key, intent, source or path {what!r} — see `townsquare kb list`")
    out.print(f"removed {n} document(s)")


@kb_app.command("search")
def search_cmd(
    query: str = typer.Argument(..., help="A question, in any language the embedder knows (en, zh, de ...)."),
    k: int = typer.Option(5, "--k", "-k", min=1, help="How many passages."),
    lang: str = typer.Option(None, "--lang", help="Prefer each document's version in this language (en, zh)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per passage."),
) -> None:
    """Hybrid search (BM25 + multilingual embeddings, fused): the passages the assistant would cite."""
    kb = _kb()
    if lang:  # the assistant may ask for a language the KB lacks (it then quotes the other); a person means a typo
        have = sorted({d["lang"] for d in kb.documents() if d["kind"] != "intent"})
        if have and lang not in have:
            raise BadInput("--lang", f"no document is in {lang!r}", f"use one of {', '.join(have)}, or leave it out")
    hits = kb.search(query, k=k, lang=lang)
    if not hits:
        out.print("no passages — the knowledge base is empty; add documents with `townsquare kb add PATH`")
        return
    for i, p in enumerate(hits, 1):
        if as_json:
            out.print(json.dumps({"rank": i, "score": p.score, "doc_key": p.doc_key, "lang": p.lang,
                                  "source": p.source, "heading": p.heading, "chunk_id": p.chunk_id,
                                  "text": p.text}, ensure_ascii=False))
            continue
        where = f"{p.source}" + (f" › {p.heading}" if p.heading else "")
        text = " ".join(p.text.split())
        out.print(Text.assemble((f"{i}.", "bold"), f" {p.score:.2f}  ", (where, "cyan"), f" ({p.lang})"))
        out.print(f"   {text[:240]}{'…' if len(text) > 240 else ''}")
