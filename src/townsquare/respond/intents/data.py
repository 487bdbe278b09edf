"""Reading intent examples (``text,intent``) and queries from CSV or JSONL, with errors that name the field.

Examples: a CSV with a header holding ``text`` and ``intent`` (``category`` and ``label`` are accepted
for ``intent``, as BANKING77 names it), or JSONL with one ``{"text": ..., "intent": ...}`` per line
(a ``[text, intent]`` pair per line, CLINC150's shape, works too). An intent named ``oos`` marks an
out-of-scope example. Queries: JSONL with ``text`` (``id`` kept if given), or a plain ``.txt``, one query a line.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from townsquare.errors import BadInput

OOS = "oos"
INTENT_ALIASES = ("intent", "category", "label")


@dataclass
class Examples:
    texts: list[str]
    intents: list[str]


def _fmt(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix == ".txt":
        return "txt"
    raise BadInput(str(path), f"unknown file type {suffix or '(none)'!r}", "use .csv or .jsonl")


def _open_text(path: Path, field: str) -> str:
    if not path.is_file():
        raise BadInput(field, f"{path} does not exist", "give the path of an existing file")
    text = path.read_text(encoding="utf-8-sig")
    if not text.strip():
        raise BadInput(field, f"{path} is empty", "give a file with one example per line")
    return text


def _csv_rows(path: Path, text: str) -> tuple[list[str], list[dict]]:
    dialect = "excel-tab" if path.suffix.lower() == ".tsv" else "excel"
    reader = csv.DictReader(text.splitlines(), dialect=dialect)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    rows = [{(k or "").strip().lower(): v for k, v in r.items()} for r in reader]
    return header, rows


def _jsonl_rows(path: Path, text: str) -> list[dict]:
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{path.name} line {n}", f"not valid JSON ({exc.msg})",
                           "write one JSON object per line") from None
        if isinstance(obj, list) and len(obj) == 2:  # CLINC150's [query, intent]
            obj = {"text": obj[0], "intent": obj[1]}
        if not isinstance(obj, dict):
            raise BadInput(f"{path.name} line {n}", "is not a JSON object", 'write {"text": ..., "intent": ...}')
        rows.append({str(k).lower(): v for k, v in obj.items()})
    return rows


def load_examples(path: str | Path) -> Examples:
    """Labelled examples from a CSV/JSONL file; raises BadInput naming the missing field or bad line."""
    path = Path(path)
    text = _open_text(path, "--examples")
    if _fmt(path) == "csv":
        header, rows = _csv_rows(path, text)
        if "text" not in header:
            raise BadInput("text", f"{path.name} has no 'text' column (header: {', '.join(header)})",
                           "add a header row with columns text,intent")
        key = next((a for a in INTENT_ALIASES if a in header), None)
        if key is None:
            raise BadInput("intent", f"{path.name} has no 'intent' column (header: {', '.join(header)})",
                           "add a header row with columns text,intent")
        first_line = 2
    else:
        rows = _jsonl_rows(path, text)
        key = next((a for a in INTENT_ALIASES if rows and a in rows[0]), "intent")
        first_line = 1
    texts, intents = [], []
    for n, row in enumerate(rows, first_line):
        t, label = row.get("text"), row.get(key)
        if not isinstance(t, str) or not t.strip():
            raise BadInput(f"text (line {n})", "is missing or empty", "give every example a non-empty text")
        if label is None or not str(label).strip():
            raise BadInput(f"intent (line {n})", "is missing or empty", f"give every example an intent (or '{OOS}')")
        texts.append(t.strip())
        intents.append(str(label).strip())
    if not texts:
        raise BadInput("--examples", f"{path} holds no examples", "give at least two intents with examples")
    if len(set(intents) - {OOS}) < 2:
        raise BadInput("intent", "fewer than two in-scope intents", "give examples of at least two intents")
    return Examples(texts, intents)


def load_queries(path: str | Path) -> tuple[list[str], list[object]]:
    """(texts, ids) of the queries to label; ids are the input's ``id`` values or the line numbers."""
    path = Path(path)
    text = _open_text(path, "--input")
    fmt = _fmt(path)
    if fmt == "txt":
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return lines, list(range(1, len(lines) + 1))
    rows = _csv_rows(path, text)[1] if fmt == "csv" else _jsonl_rows(path, text)
    texts, ids = [], []
    for n, row in enumerate(rows, 1):
        t = row.get("text", row.get("query"))
        if not isinstance(t, str):
            raise BadInput(f"text (line {n})", "is missing", 'give every query a "text" field')
        texts.append(t)
        ids.append(row.get("id", n))
    return texts, ids
