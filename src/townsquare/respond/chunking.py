"""Splitting a document into retrievable chunks: by heading, then by paragraph, then by sentence.

A chunk is ~300-800 characters (a Chinese character counts twice: it carries about as much as two Latin letters'
worth of a word), never crosses a heading once it is big enough, and remembers the heading it sits under, so a
citation can say "Returns › Refunds". The document title is not repeated in the text; it is prepended when
embedding (see `embed_text`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_CHARS, MAX_CHARS = 300, 800
_HEADING = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？；;])\s*")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass
class Chunk:
    heading: str
    text: str


def weight(text: str) -> int:
    """Length in 'Latin characters': CJK characters count twice."""
    return len(text) + len(_CJK.findall(text))


def _split_long(block: str) -> list[str]:
    """A block over MAX_CHARS, cut at sentence ends (or hard-cut when a 'sentence' is itself too long)."""
    parts: list[str] = []
    cur = ""
    for sent in (s for s in _SENTENCE_END.split(block) if s):
        while weight(sent) > MAX_CHARS:  # no sentence ends: cut hard
            cut = MAX_CHARS // (2 if _CJK.search(sent) else 1)
            parts.append(sent[:cut])
            sent = sent[cut:]
        if cur and weight(cur) + weight(sent) > MAX_CHARS:
            parts.append(cur)
            cur = ""
        cur = f"{cur} {sent}".strip() if cur and not _CJK.search(sent[:1]) else cur + sent
    if cur:
        parts.append(cur)
    return parts


def chunk_document(text: str) -> list[Chunk]:
    """Chunks of a Markdown-ish document (headings as '#' lines, blocks separated by blank lines)."""
    chunks: list[Chunk] = []
    heads: list[str] = []  # the current heading path
    cur: list[str] = []
    cur_heading = ""

    def flush() -> None:
        nonlocal cur
        body = "\n\n".join(cur).strip()
        if body and not all(_HEADING.match(line) for line in body.splitlines() if line.strip()):
            chunks.append(Chunk(cur_heading, body))
        cur = []

    for block in re.split(r"\n\s*\n", text.strip()):
        block = block.strip()
        if not block:
            continue
        first = block.splitlines()[0]
        m = _HEADING.match(first)
        if m:
            level = len(m[1])
            heads[:] = heads[: level - 1] + [m[2]]
            if weight("\n\n".join(cur)) >= MIN_CHARS:
                flush()
            if not cur:
                cur_heading = " › ".join(h for h in heads if h)
        pieces = [block] if weight(block) <= MAX_CHARS else _split_long(block)
        for piece in pieces:
            if cur and weight("\n\n".join(cur)) + weight(piece) > MAX_CHARS:
                flush()
                cur_heading = " › ".join(h for h in heads if h)
            cur.append(piece)
    flush()
    return chunks


def embed_text(title: str, chunk: Chunk) -> str:
    """What is embedded for a chunk: title and heading give a short chunk its topic."""
    head = title if not chunk.heading or chunk.heading == title else f"{title} › {chunk.heading}"
    return f"{head}\n{chunk.text}" if head else chunk.text
