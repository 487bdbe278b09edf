"""Reading files as a stream of decoded values with their locations, in constant memory.

- JSON Lines: binary lines, decoded one by one, so an invalid line is one quarantined record, not a failed file.
- JSON documents (one API response, a `.bodies.json` list of recorded responses, a betamax cassette): read whole
  (they are API pages; a document over MAX_DOCUMENT_BYTES is refused with advice to convert it to JSON Lines).
- CSV: the csv module over a text wrapper with `surrogateescape`, so an invalid-UTF-8 row is found and quarantined
  with its original bytes instead of stopping the file.
- Parquet: `ParquetFile.iter_batches`, rows as dicts.
Gzip files (`.gz`) are read through transparently; progress follows the compressed bytes.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from townsquare.errors import BadInput
from townsquare.ingest.items import Rejected

MAX_DOCUMENT_BYTES = 256 * 1024 * 1024
_SURROGATE = re.compile("[\udc80-\udcff]")
_ORJSON_POS = re.compile(r":? line 1 column (\d+) \(char \d+\)$")
csv.field_size_limit(2**31 - 1)  # long texts must reach validation (and the quarantine), not stop the file


class Source:
    """An open file and how far into it we are (for the progress bar)."""

    def __init__(self, path: Path):
        self.path = path
        self.size = path.stat().st_size
        self.fraction = 0.0  # progress for readers that do not read through `stream` (Parquet)
        self._raw: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by close()
        self.stream: BinaryIO = gzip.GzipFile(fileobj=self._raw) if is_gzip(path) else self._raw

    def tell(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self.stream.close()
        self._raw.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def is_gzip(path: Path) -> bool:
    return path.suffix.lower() == ".gz"


def base_suffix(path: Path) -> str:
    """`.jsonl` for both `x.jsonl` and `x.jsonl.gz`."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def decode_json(data: bytes, loc: str) -> Any | Rejected:
    """One JSON value, or a Rejected naming the problem (invalid UTF-8 at byte N, invalid JSON at column N)."""
    if data[:3] == b"\xef\xbb\xbf":  # a UTF-8 byte order mark, as some Windows tools write
        data = data[3:]
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as bad:
            return Rejected(loc, data, f"invalid UTF-8 at byte {bad.start + 1} — re-encode the file as UTF-8")
        msg = _ORJSON_POS.sub(lambda m: f" at column {m.group(1)}", str(exc))
        return Rejected(loc, data, f"invalid JSON ({msg}) — fix or remove this record")


def iter_lines(src: Source) -> Iterator[tuple[Any, str, bytes]]:
    """(value or Rejected, "line N", the line's bytes) for every non-blank line."""
    for n, line in enumerate(src.stream, 1):
        line = line.strip()
        if line:
            yield decode_json(line, f"line {n}"), f"line {n}", line


def read_document(src: Source) -> Any | Rejected:
    if src.size > MAX_DOCUMENT_BYTES and not is_gzip(src.path):
        raise BadInput(str(src.path), f"is one {src.size / 2**20:,.0f} MB JSON document, too big to read at once",
                       "convert it to JSON Lines (one record per line), e.g. jq -c '.[]' in.json > in.jsonl")
    data = src.stream.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise BadInput(str(src.path), "holds a JSON document over 256 MB", "convert it to JSON Lines")
    return decode_json(data, "document")


def unwrap(value, loc: str) -> Iterator[tuple[Any, str]]:
    """Recorded HTTP traffic holds API responses: yield each response body (and each streaming event's data).

    Understands `.bodies.json` lists (`[{"request", "status", "body"}]`, streaming bodies split into
    `_sse_events_parsed`) and betamax cassettes (`{"interactions": [{"response": {"body": {"string"}}}]}`).
    Anything else is yielded as it is.
    """
    if isinstance(value, list) and value and all(isinstance(e, dict) and "request" in e and "body" in e
                                                 for e in value[:3]):
        for i, entry in enumerate(value):
            yield from _body(entry.get("body"), f"{loc}[{i}].body" if loc else f"[{i}].body")
    elif isinstance(value, dict) and isinstance(value.get("interactions"), list):
        for i, inter in enumerate(value["interactions"]):
            body = ((inter.get("response") or {}).get("body") or {}) if isinstance(inter, dict) else {}
            text = body.get("string") if isinstance(body, dict) else None
            if text:
                try:
                    yield from _body(orjson.loads(text), f"interactions[{i}]")
                except orjson.JSONDecodeError:
                    continue  # a non-JSON response (HTML error page): not a record
    else:
        yield value, loc


def _body(body, loc: str) -> Iterator[tuple[Any, str]]:
    if body is None:
        return
    if isinstance(body, dict) and isinstance(body.get("_sse_events_parsed"), list):
        for j, event in enumerate(body["_sse_events_parsed"]):
            data = event.get("data") if isinstance(event, dict) else None
            if isinstance(data, str) and data[:1] in "{[":
                try:
                    data = orjson.loads(data)
                except orjson.JSONDecodeError:
                    continue
            if isinstance(data, dict | list):  # "delete" events carry a bare id: not a record
                yield data, f"{loc} event {j + 1}"
    else:
        yield body, loc


def iter_csv(stream: BinaryIO, delimiter: str = ",", name: str = "CSV",
             check_header: Callable[[list[str]], None] | None = None) -> Iterator[tuple[dict | Rejected, str]]:
    """(row as {column: value} or Rejected, "line N") for every data row; line N is where the row starts."""
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="surrogateescape", newline="")
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise BadInput(name, f"has an unreadable CSV header ({exc})", "check the file is CSV") from None
    if any(_SURROGATE.search(h) for h in header):
        raise BadInput(name, "has invalid UTF-8 in its CSV header", "re-encode the file as UTF-8")
    header = [h.strip().lstrip("\ufeff") for h in header]
    if check_header:
        check_header(header)
    width = len(header)
    header_line = _csv_line(header, delimiter)
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            loc = f"line {start}"
            start = reader.line_num + 1
            yield Rejected(loc, b"", f"unreadable CSV row ({exc}) — check its quoting"), loc
            continue
        loc, start = f"line {start}", reader.line_num + 1
        if not row:
            continue
        bad = _bad_utf8(row, header)
        if bad:
            raw = (header_line + _csv_line(row, delimiter)).encode("utf-8", "surrogateescape")
            yield Rejected(loc, raw, bad), loc
            continue
        if len(row) != width:
            raw = (header_line + _csv_line(row, delimiter)).encode("utf-8")
            yield Rejected(loc, raw, f"row has {len(row)} fields but the header has {width} — check its quoting"
                                     f" and delimiters"), loc
            continue
        yield dict(zip(header, row, strict=True)), loc


def _bad_utf8(row: list[str], header: list[str]) -> str | None:
    for i, value in enumerate(row):
        if not value.isascii():
            m = _SURROGATE.search(value)
            if m:
                column = header[i] if i < len(header) else f"#{i + 1}"
                byte = ord(m.group()) - 0xDC00
                return (f'{column}: invalid UTF-8 (byte 0x{byte:02x} at character {m.start() + 1})'
                        f" — re-encode the file as UTF-8")
    return None


def _csv_line(row: list[str], delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerow(row)
    return out.getvalue()


def iter_parquet(path: Path, batch_size: int, check_header: Callable[[list[str]], None] | None = None
                 ) -> Iterator[tuple[list[dict], int, int]]:
    """(rows, first row number, total rows) per record batch."""
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a damaged file
        raise BadInput(str(path), f"is not a readable Parquet file ({exc})", "check the file or pass --format") from None
    if check_header:
        check_header(pf.schema_arrow.names)
    total = pf.metadata.num_rows
    first = 1
    for batch in pf.iter_batches(batch_size=batch_size):
        rows = batch.to_pylist()
        yield rows, first, total
        first += len(rows)
