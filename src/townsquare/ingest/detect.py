"""Which container (JSON Lines, JSON document, CSV, Parquet) and which reader a file needs.

`--format auto` looks at the extension, then at the first records' shape: each platform reader's `looks_like`
in turn (X v2, X v1.1, Mastodon, Weibo, Reddit, Bluesky), generic records last.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson

from townsquare.errors import BadInput
from townsquare.ingest.formats import PLATFORM_READERS, READERS, generic
from townsquare.ingest.formats.common import is_error_body
from townsquare.ingest.items import Rejected
from townsquare.ingest.sources import Source, base_suffix, iter_lines, read_document, unwrap

GENERIC_FORMATS = {"jsonl": "lines", "json": "document", "csv": "csv", "tsv": "csv", "parquet": "parquet"}
FORMATS = ["auto", *GENERIC_FORMATS, *(m.NAME for m in PLATFORM_READERS)]
_LINE_SUFFIXES = {".jsonl", ".ndjson", ".jsonlines"}
_SNIFF_LINES = 50


@dataclass
class Plan:
    container: str  # lines | document | csv | parquet
    reader: ModuleType
    label: str  # the format name kept with quarantined records (retry parses them with it)
    delimiter: str = ","
    document: Any = None  # the decoded document when sniffing already read it


def plan_for(path: Path, fmt: str = "auto") -> Plan:
    fmt = fmt.replace("_", "-")  # x_v2 means x-v2
    if fmt not in FORMATS:
        raise BadInput("--format", f'"{fmt}" is not a known format', f"use one of {', '.join(FORMATS)}")
    suffix = base_suffix(path)
    if fmt in ("csv", "tsv") or (fmt == "auto" and suffix in (".csv", ".tsv")):
        tab = fmt == "tsv" or (fmt == "auto" and suffix == ".tsv")
        return Plan("csv", generic, "csv", delimiter="\t" if tab else ",")
    if fmt == "parquet" or (fmt == "auto" and suffix in (".parquet", ".pq")):
        return Plan("parquet", generic, "parquet")
    if fmt == "jsonl":
        return Plan("lines", generic, "jsonl")
    if fmt == "json":
        return Plan("document", generic, "json")
    container = "lines" if suffix in _LINE_SUFFIXES or path.stat().st_size == 0 else _json_container(path)
    if fmt != "auto":
        return Plan(container, READERS[fmt], fmt)
    document = None
    if container == "lines":
        with Source(path) as src:
            samples = [v for v, _, _ in _first(iter_lines(src), _SNIFF_LINES) if not isinstance(v, Rejected)]
    else:
        with Source(path) as src:
            document = read_document(src)
        if isinstance(document, Rejected):
            return Plan(container, generic, "json", document=document)  # quarantined as one bad record
        samples = [body for body, _ in _first(unwrap(document, ""), 200)]
    samples = [v for v in samples if not is_error_body(v)]
    for value in samples:
        for reader in PLATFORM_READERS:
            if reader.looks_like(value):
                return Plan(container, reader, reader.NAME, document=document)
    if not samples or generic.looks_like(samples[0]):  # nothing readable: generic quarantines each bad line
        return Plan(container, generic, "jsonl" if container == "lines" else "json", document=document)
    raise BadInput(str(path), "does not look like any known format",
                   f"pass --format ({', '.join(FORMATS[1:])}); generic records need id, text, author, created_at")


def _first(it, n: int):
    for i, x in enumerate(it):
        if i >= n:
            return
        yield x


def _json_container(path: Path) -> str:
    """JSON Lines when the first non-blank line is a whole JSON value and more lines follow; else a document."""
    with Source(path) as src:
        first = None
        for line in src.stream:
            if not line.strip():
                continue
            if first is not None:
                return "lines"
            try:
                orjson.loads(line)
            except orjson.JSONDecodeError:
                return "document"
            first = line
    return "document"
