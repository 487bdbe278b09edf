"""Watches — what a team follows — and the matcher that decides which posts count for which watch.

A post counts for a watch when a keyword, hashtag or handle appears in it (case-, width- and space-insensitive:
"Acme Phone" also finds `#AcmePhone`, `acmephone` and `ACME PHONE`; Chinese keywords match as substrings, so
`acme手机` is found in running Chinese text) or, failing that, when its embedding is close enough to the watch's
description (a post that only describes the product).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import delete, select

from townsquare.errors import BadInput
from townsquare.store import Store
from townsquare.store.tables import WatchRow

LANGS = ("en", "zh", "other")
GRANULARITIES = (1, 5, 60)  # minutes: the buckets aggregates are kept for
DEFAULT_SIMILARITY = 0.55  # USE-multilingual cosine; measured on the sample world (benchmarks/listen.py)
_ASCII_WORD = "a-z0-9"


@dataclass
class Watch:
    name: str
    keywords: list[str] = field(default_factory=list)
    langs: list[str] = field(default_factory=list)  # empty = every language
    description: str = ""
    similarity: float = DEFAULT_SIMILARITY
    minutes: int = 60  # the bucket its detectors score
    sensitivity: float | None = None  # None = the detector's default threshold
    webhook_url: str | None = None
    id: int | None = None
    created_at: datetime | None = None

    @property
    def semantic_text(self) -> str:
        return self.description or " ".join([self.name, *self.keywords])

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "keywords": self.keywords, "langs": self.langs,
                "description": self.description, "similarity": self.similarity, "minutes": self.minutes,
                "sensitivity": self.sensitivity, "webhook_url": self.webhook_url,
                "created_at": self.created_at.isoformat() + "Z" if self.created_at else None}


def check_watch(w: Watch) -> Watch:
    """Validate and tidy a watch; every problem is one line naming the field and the fix."""
    name = (w.name or "").strip()
    if not name or len(name) > 128:
        raise BadInput("name", "a watch needs a name of 1-128 characters", 'e.g. "Acme Phone"')
    keywords = [k.strip() for k in w.keywords if k and k.strip()]
    if any(len(k) > 100 for k in keywords):
        raise BadInput("keywords", "a keyword is longer than 100 characters", "use short words, hashtags or handles")
    langs = [x.strip().lower() for x in w.langs if x and x.strip()]
    bad = [x for x in langs if x not in LANGS]
    if bad:
        raise BadInput("langs", f"unknown language {bad[0]!r}", f"use any of {', '.join(LANGS)} (comma-separated)")
    if not 0.0 < w.similarity <= 1.0:
        raise BadInput("similarity", f"{w.similarity} is not a cosine threshold", "use a number in (0, 1], e.g. 0.55")
    if w.minutes not in GRANULARITIES:
        raise BadInput("minutes", f"{w.minutes} is not a bucket size", f"use one of {GRANULARITIES}")
    if w.sensitivity is not None and not 0.0 < w.sensitivity < 1.0:
        raise BadInput("sensitivity", f"{w.sensitivity} is not a threshold", "use a number in (0, 1) or leave it out")
    if w.webhook_url and not w.webhook_url.startswith(("http://", "https://")):
        raise BadInput("webhook_url", f"{w.webhook_url!r} is not an http(s) URL", "e.g. https://hooks.example/townsquare")
    return Watch(name=name, keywords=list(dict.fromkeys(keywords or [name])), langs=list(dict.fromkeys(langs)),
                 description=(w.description or "").strip(), similarity=float(w.similarity), minutes=int(w.minutes),
                 sensitivity=w.sensitivity, webhook_url=w.webhook_url or None, id=w.id, created_at=w.created_at)


def _from_row(r) -> Watch:
    return Watch(name=r.name, keywords=list(r.keywords), langs=list(r.langs), description=r.description,
                 similarity=r.similarity, minutes=r.minutes, sensitivity=r.sensitivity, webhook_url=r.webhook_url,
                 id=r.id, created_at=r.created_at)


def add_watch(store: Store, watch: Watch) -> Watch:
    watch = check_watch(watch)
    if get_watch(store, watch.name) is not None:
        raise BadInput("name", f'a watch named "{watch.name}" exists', "pick another name or remove the old one")
    now = datetime.now(UTC).replace(tzinfo=None)
    with store.engine.begin() as conn:
        row = conn.execute(WatchRow.__table__.insert().values(
            name=watch.name, keywords=watch.keywords, langs=watch.langs, description=watch.description,
            similarity=watch.similarity, minutes=watch.minutes, sensitivity=watch.sensitivity,
            webhook_url=watch.webhook_url, created_at=now).returning(WatchRow.__table__.c.id)).one()
    watch.id, watch.created_at = row.id, now
    return watch


def list_watches(store: Store) -> list[Watch]:
    with store.engine.connect() as conn:
        return [_from_row(r) for r in conn.execute(select(WatchRow.__table__).order_by(WatchRow.__table__.c.id))]


def get_watch(store: Store, key: int | str) -> Watch | None:
    c = WatchRow.__table__.c
    cond = c.id == key if isinstance(key, int) else c.name == key
    with store.engine.connect() as conn:
        row = conn.execute(select(WatchRow.__table__).where(cond)).first()
    return _from_row(row) if row else None


def remove_watch(store: Store, key: int | str) -> bool:
    """Delete a watch with its matches, aggregates, detector states and alerts."""
    from townsquare.store.tables import (
        AlertRow,
        DetectorStateRow,
        WatchBucketKeyRow,
        WatchBucketRow,
        WatchMatchRow,
    )

    watch = get_watch(store, key)
    if watch is None:
        return False
    with store.engine.begin() as conn:
        for table in (AlertRow, DetectorStateRow, WatchBucketKeyRow, WatchBucketRow, WatchMatchRow):
            conn.execute(delete(table.__table__).where(table.__table__.c.watch_id == watch.id))
        conn.execute(delete(WatchRow.__table__).where(WatchRow.__table__.c.id == watch.id))
    return True


def fold(text: str) -> str:
    """Lower case, full-width to ASCII (NFKC), so `ＡＣＭＥ` and `Acme` compare equal."""
    return unicodedata.normalize("NFKC", text).lower()


def keyword_pattern(keywords: list[str]) -> re.Pattern:
    variants: set[str] = set()
    for k in keywords:
        k = fold(k).lstrip("#@")
        if not k:
            continue
        variants.add(k)
        variants.add(re.sub(r"\s+", "", k))  # "acme phone" -> "acmephone" (hashtags drop spaces)
    alts = []
    for v in sorted(variants, key=len, reverse=True):
        body = r"\s*".join(re.escape(part) for part in v.split()) if " " in v else re.escape(v)
        left = f"(?<![{_ASCII_WORD}])" if v[0].isascii() and v[0].isalnum() else ""
        right = f"(?![{_ASCII_WORD}])" if v[-1].isascii() and v[-1].isalnum() else ""
        alts.append(f"{left}{body}{right}")
    return re.compile("|".join(alts) if alts else r"(?!x)x")


@dataclass(slots=True)
class Match:
    watch_id: int
    index: int  # position of the post in the batch
    how: str  # keyword | semantic
    similarity: float


class Matcher:
    """Matches a batch of posts (texts, languages, author handles, embeddings) against every watch at once."""

    def __init__(self, watches: list[Watch], watch_vectors: np.ndarray):
        self.watches = watches
        self._patterns = [keyword_pattern(w.keywords) for w in watches]
        self._vectors = _unit(watch_vectors) if len(watches) else np.zeros((0, 1), np.float32)

    def match(self, texts: list[str], langs: list[str | None], handles: list[str],
              embeddings: np.ndarray) -> list[Match]:
        if not self.watches or not texts:
            return []
        sims = _unit(embeddings) @ self._vectors.T  # (posts, watches): one matrix product per batch
        folded = [fold(t) + " @" + fold(h) if h else fold(t) for t, h in zip(texts, handles, strict=True)]
        out: list[Match] = []
        for j, (w, pattern) in enumerate(zip(self.watches, self._patterns, strict=True)):
            for i, text in enumerate(folded):
                lang = langs[i] if langs[i] in ("en", "zh") else "other"
                if w.langs and lang not in w.langs:
                    continue
                s = float(sims[i, j])
                if pattern.search(text):
                    out.append(Match(w.id, i, "keyword", s))
                elif s >= w.similarity:
                    out.append(Match(w.id, i, "semantic", s))
        return out


def _unit(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float32)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.maximum(norms, 1e-12)


def build_matcher(store: Store, embed) -> Matcher:
    """A matcher over every stored watch; `embed(texts)` embeds the watches' descriptions (once per call)."""
    watches = list_watches(store)
    vectors = embed([w.semantic_text for w in watches]) if watches else np.zeros((0, 1), np.float32)
    return Matcher(watches, vectors)


def parse_list(value: str | list[str] | None) -> list[str]:
    """'a, b,#c' -> ['a', 'b', '#c'] (also accepts a list, e.g. from JSON)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else re.split(r"[,，]", value)
    return [str(x).strip() for x in items if str(x).strip()]
