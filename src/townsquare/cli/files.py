"""File options that also take "-": standard input or standard output, as Unix tools read it.

    townsquare analyze -i - -o - < posts.jsonl | jq .sentiment
    townsquare detect -i series.csv -o - | tail

Summaries and progress go to standard error, so standard output holds only the results.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from rich.console import Console

from townsquare.cli import console
from townsquare.errors import BadInput

STDIO = "-"


def is_stdio(path: str | Path | None) -> bool:
    return path is not None and str(path) == STDIO


@contextmanager
def open_input(path: str | Path, *, binary: bool = False, option: str = "--input",
               fix: str = "pass a file, or - for standard input") -> Iterator[IO]:
    """A file to read, or standard input for "-" (never closed here)."""
    if is_stdio(path):
        yield sys.stdin.buffer if binary else sys.stdin
        return
    path = Path(path)
    if not path.exists():
        raise BadInput(option, f"{path} does not exist", fix)
    if path.is_dir():
        raise BadInput(option, f"{path} is a folder", fix)
    with path.open("rb") if binary else path.open(newline="", encoding="utf-8-sig") as fh:
        yield fh


@contextmanager
def open_output(path: str | Path, *, binary: bool = False, option: str = "--output",
                example: str = "out.jsonl") -> Iterator[IO]:
    """A file to write (its folder made), or standard output for "-" (flushed, never closed here)."""
    if is_stdio(path):
        stream = sys.stdout.buffer if binary else sys.stdout
        yield stream
        stream.flush()
        return
    path = Path(path)
    if path.is_dir():
        raise BadInput(option, f"{path} is a folder", f"pass a file path such as {example}, or - for standard output")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") if binary else path.open("w", newline="", encoding="utf-8") as fh:
        yield fh


def status_console(output: str | Path, default: Console) -> Console:
    """Where a command's progress and summary go: standard error when its results go to standard output."""
    return console(stderr=True, highlight=False, soft_wrap=True) if is_stdio(output) else default


def shown(path: str | Path) -> str:
    """How a summary names where the results went."""
    return "standard output" if is_stdio(path) else str(path)
