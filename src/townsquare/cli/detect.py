"""`townsquare detect`: score a time series (CSV timestamp,value) for anomalies, point by point, no look-ahead."""

from __future__ import annotations

import csv
import math
import time
from datetime import UTC, datetime
from pathlib import Path

import typer

from townsquare.cli import app, console
from townsquare.cli.files import open_input, open_output, shown
from townsquare.errors import BadInput

out = console(stderr=True, highlight=False, soft_wrap=True)


def parse_timestamp(text: str) -> datetime:
    """`YYYY-MM-DD HH:MM:SS` (NAB) or ISO 8601 (`T`, fractions, `Z` or an offset; aware times become UTC)."""
    t = datetime.fromisoformat(text.strip())
    if t.tzinfo is not None:
        t = t.astimezone(UTC).replace(tzinfo=None)
    return t


def read_series_csv(path: Path | str) -> tuple[list[str], list[datetime], list[float]]:
    """Read `timestamp,value` rows (other columns ignored; "-" is standard input); raise BadInput naming the line
    and the fix."""
    raw, stamps, values = [], [], []
    with open_input(path, fix="pass a CSV file with a timestamp,value header, or - for standard input") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        while header is not None and not any(h.strip() for h in header):
            header = next(reader, None)
        if header is None:
            raise BadInput("--input", f"{path} is empty", "write a header line `timestamp,value` and one row per point")
        names = [h.strip().lower() for h in header]
        missing = [c for c in ("timestamp", "value") if c not in names]
        if missing:
            raise BadInput("--input", f"no {' or '.join(missing)} column in the header {','.join(header)!r}",
                           "the first line must name the columns, e.g. timestamp,value")
        ti, vi = names.index("timestamp"), names.index("value")
        prev = None
        for row in reader:
            line = reader.line_num
            if not any(c.strip() for c in row):
                continue
            if len(row) <= max(ti, vi):
                raise BadInput("--input", f"line {line} has {len(row)} fields, expected at least {max(ti, vi) + 1}",
                               "give every row a timestamp and a value")
            try:
                t = parse_timestamp(row[ti])
            except ValueError:
                raise BadInput("timestamp", f"cannot read {row[ti]!r} on line {line}",
                               "use YYYY-MM-DD HH:MM:SS or ISO 8601, e.g. 2015-02-26T21:42:53Z") from None
            try:
                v = float(row[vi])
            except ValueError:
                raise BadInput("value", f"{row[vi]!r} on line {line} is not a number",
                               "give a number (or nan for a missing point)") from None
            if prev is not None and t < prev:
                raise BadInput("timestamp", f"line {line} ({row[ti]}) is earlier than the line before it",
                               "sort the rows by time; a detector reads a series in order")
            prev = t
            raw.append(row[ti].strip())
            stamps.append(t)
            values.append(v)
    if not values:
        raise BadInput("--input", f"{path} has a header but no rows", "add one row per point: timestamp,value")
    return raw, stamps, values


@app.command("detect")
def detect(
    input: str = typer.Option(..., "--input", "-i", help="CSV with a timestamp,value header (NAB format works); "
                              "- for standard input."),
    output: str = typer.Option(..., "--output", "-o", help="Where to write timestamp,value,anomaly_score,alert; "
                               "- for standard output."),
    detector: str = typer.Option("default", "--detector", "-d", help="default, blend, novelty, robust or gaussian."),
    threshold: float | None = typer.Option(None, "--threshold", help="Alert when score >= this (detector default)."),
) -> None:
    """Score every point of a series in time order, using only the points before it; mark alerts."""
    from townsquare.listen.detect import get_detector

    if threshold is not None and not (0.0 < threshold <= 1.0):
        raise BadInput("--threshold", f"{threshold} is outside (0, 1]", "pass e.g. --threshold 0.5")
    det = get_detector(detector, **({"threshold": threshold} if threshold is not None else {}))
    raw, stamps, values = read_series_csv(input)
    started = time.perf_counter()
    alerts = 0
    with open_output(output, example="scores.csv") as fh:
        writer = csv.writer(fh)
        writer.writerow(["timestamp", "value", "anomaly_score", "alert"])
        for text, t, v in zip(raw, stamps, values, strict=True):
            score = det.score_one(t, v)
            alerts += det.alert
            writer.writerow([text, repr(v) if math.isfinite(v) else "nan", f"{score:.6f}", int(det.alert)])
    out.print(f"scored {len(values):,} points with {det.name} (threshold {det.threshold:g}): {alerts} alerts, "
              f"written to {shown(output)} in {time.perf_counter() - started:.1f} s")
