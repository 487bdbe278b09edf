"""The knowledge base: documents in, passages out.

`KnowledgeBase.add(path)` loads files (formats in `townsquare.respond.loaders`), chunks them, checks every chunk
for prompt injections, embeds the chunks once (stored in `kb_chunks`) and replaces what a changed document held
before. `search(query)` is hybrid retrieval (`townsquare.respond.retrieval`) over an in-memory index that is
rebuilt only when the chunk table changes (checked with one tiny query per search, so several API workers agree).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson
from sqlalchemy import delete, func, or_, select, update

from townsquare.errors import BadInput
from townsquare.respond.chunking import Chunk, chunk_document, embed_text
from townsquare.respond.loaders import INTENT_LANG, LoadedDoc, kb_files, load_file
from townsquare.respond.retrieval import BM25, rank, tokenize
from townsquare.store.tables import KbChunkRow, KbDocumentRow

log = logging.getLogger("townsquare.respond.kb")


@dataclass(frozen=True)
class Passage:
    chunk_id: int
    doc_id: int
    doc_key: str  # stable id shared by translations of one document
    title: str
    source: str  # e.g. "demo_kb/returns.en.md" (cite this)
    text: str
    lang: str
    score: float  # calibrated relevance in [0, 1]; comparable across queries (0.5: plausibly relevant)
    sensitive: bool  # a policy topic marked for hand-off to a person
    heading: str = ""  # the section the chunk sits under, e.g. "Returns › Refunds"


@dataclass
class AddReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0  # documents that disappeared from a re-added file
    chunks: int = 0  # chunks written (of added/updated documents)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (file or "file line n", one-line reason)
    flagged: list[tuple[str, str]] = field(default_factory=list)  # (source, reason): injection found, not retrieved

    @property
    def failed(self) -> int:
        return len(self.failures)


@dataclass
class _Index:
    signature: tuple
    chunk_ids: np.ndarray
    vectors: np.ndarray
    bm25: BM25
    rows: list[dict]  # per chunk: doc_id, doc_key, title, source, text, lang, sensitive, heading
    langs: np.ndarray
    key_langs: dict[str, set[str]]
    versions: dict[tuple[str, str], np.ndarray]  # (doc_key, lang) -> its chunk rows


def _hash(doc: LoadedDoc) -> str:
    payload = orjson.dumps([doc.kind, doc.title, doc.text, doc.sensitive, doc.meta, doc.source],
                           option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


class KnowledgeBase:
    """Documents, FAQ entries and intents of a brand, searchable by hybrid retrieval."""

    def __init__(self, store, embedder=None):
        self.store = store
        self.engine = store.engine
        self._embedder = embedder
        self._index: _Index | None = None
        self._lock = threading.Lock()

    @property
    def embedder(self):
        if self._embedder is None:
            from townsquare.models import get_embedder

            self._embedder = get_embedder()
        return self._embedder

    # ---- writing -------------------------------------------------------------------------------
    def add(self, path: str | Path, progress=None) -> AddReport:
        """Add a file or folder. A changed document replaces its chunks; an unchanged one is left alone.
        A file, or an FAQ row, that cannot be used is reported in `failures` (the others are still added)."""
        report = AddReport()
        loaded: list[LoadedDoc] = []
        ok_paths: list[str] = []
        seen: dict[tuple[str, str], str] = {}
        for f, source in kb_files(Path(path)):
            try:
                docs = load_file(f.resolve(), source, report.failures)
                for d in docs:
                    other = seen.get((d.doc_key, d.lang))
                    if other is not None:
                        raise BadInput(f"{f.name} key", f"{d.doc_key!r} ({d.lang}) is also used by {other}",
                                       "give each document its own key, or a different lang")
                for d in docs:
                    seen[(d.doc_key, d.lang)] = source
            except BadInput as exc:
                report.failures.append((source, str(exc)))
                log.info("kb add: %s", exc)  # reported to the caller in `failures`; a warning would print it twice
                continue
            loaded.extend(docs)
            ok_paths.append(str(f.resolve()))
        hashes = {(d.doc_key, d.lang): _hash(d) for d in loaded}
        with self.engine.connect() as conn:
            existing = {(r.doc_key, r.lang): r for r in conn.execute(
                select(KbDocumentRow.id, KbDocumentRow.doc_key, KbDocumentRow.lang, KbDocumentRow.content_hash,
                       KbDocumentRow.path))}
        changed = [d for d in loaded if (d.doc_key, d.lang) not in existing
                   or existing[(d.doc_key, d.lang)].content_hash != hashes[(d.doc_key, d.lang)]
                   or existing[(d.doc_key, d.lang)].path != d.path]
        report.unchanged = len(loaded) - len(changed)
        chunked = [(d, chunk_document(d.text) if d.kind != "intent" else []) for d in changed]
        texts = [embed_text(d.title, c) for d, cs in chunked for c in cs]
        vectors = self._embed(texts, progress)
        flags = self._check_injections(chunked, texts, vectors)
        now = datetime.now(UTC).replace(tzinfo=None)
        model = getattr(self.embedder, "name", "embedder") if texts else ""
        pos = 0
        with self.engine.begin() as conn:
            for d, cs in chunked:
                key = (d.doc_key, d.lang)
                values = dict(doc_key=d.doc_key, lang=d.lang, kind=d.kind, title=d.title, source=d.source,
                              path=d.path, content_hash=hashes[key], sensitive=d.sensitive,
                              flagged=key in flags, flag_reason=flags.get(key, ""), meta=d.meta, text=d.text,
                              updated_at=now)
                old = existing.get(key)
                if old is None:
                    doc_id = conn.execute(KbDocumentRow.__table__.insert().values(**values)).inserted_primary_key[0]
                    report.added += 1
                else:
                    doc_id = old.id
                    conn.execute(delete(KbChunkRow).where(KbChunkRow.doc_id == doc_id))
                    conn.execute(update(KbDocumentRow).where(KbDocumentRow.id == doc_id).values(**values))
                    report.updated += 1
                if key in flags:
                    report.flagged.append((d.source, flags[key]))
                    log.warning("kb add: %s flagged as a prompt injection and kept out of retrieval: %s",
                                d.source, flags[key])
                rows = [dict(doc_id=doc_id, ord=i, heading=c.heading, text=c.text, model=model,
                             dim=int(vectors.shape[1]), vector=vectors[pos + i].astype("<f4").tobytes())
                        for i, c in enumerate(cs)]
                pos += len(cs)
                if rows:
                    conn.execute(KbChunkRow.__table__.insert(), rows)
                report.chunks += len(rows)
            # Documents a re-added file no longer holds (an FAQ row deleted, an intent dropped) go away.
            keep = set(hashes)
            for r in existing.values():
                if r.path in ok_paths and (r.doc_key, r.lang) not in keep:
                    conn.execute(delete(KbChunkRow).where(KbChunkRow.doc_id == r.id))
                    conn.execute(delete(KbDocumentRow).where(KbDocumentRow.id == r.id))
                    report.removed += 1
        self._index = None
        return report

    def _embed(self, texts: list[str], progress=None) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        out = []
        for i in range(0, len(texts), 256):  # batches; progress callers get (done, total)
            out.append(np.asarray(self.embedder.embed(texts[i : i + 256]), dtype=np.float32))
            if progress:
                progress(min(i + 256, len(texts)), len(texts))
        return np.vstack(out)

    def _check_injections(self, chunked, texts: list[str], vectors: np.ndarray) -> dict[tuple[str, str], str]:
        """{(doc_key, lang): reason} for documents with a chunk that reads as a prompt injection."""
        from townsquare.respond.safety import detect_injection

        flags: dict[tuple[str, str], str] = {}
        intent_texts = [(d, t) for d, _ in chunked if d.kind == "intent" for t in d.meta.get("answers", {}).values()]
        verdicts = detect_injection(texts, vectors=vectors if len(texts) else None, embedder=self._embedder,
                                    context="document")
        pos = 0
        for d, cs in chunked:
            for v in verdicts[pos : pos + len(cs)]:
                if v.is_attack and (d.doc_key, d.lang) not in flags:
                    flags[(d.doc_key, d.lang)] = v.reason
            pos += len(cs)
        if intent_texts:
            for (d, _), v in zip(intent_texts, detect_injection([t for _, t in intent_texts], embedder=self._embedder,
                                                               context="document"), strict=True):
                if v.is_attack:
                    flags.setdefault((d.doc_key, d.lang), v.reason)
        return flags

    def remove(self, doc_key_or_source: str | Path) -> int:
        """Remove every document (all languages) whose key, source, file path or intent name matches."""
        name = str(doc_key_or_source)
        resolved = str(Path(name).resolve())
        cond = or_(KbDocumentRow.doc_key == name, KbDocumentRow.doc_key == f"intent:{name}",
                   KbDocumentRow.source == name, KbDocumentRow.path == resolved,
                   KbDocumentRow.path.startswith(resolved.rstrip("/") + "/"))
        with self.engine.begin() as conn:
            ids = [r[0] for r in conn.execute(select(KbDocumentRow.id).where(cond))]
            if ids:
                conn.execute(delete(KbChunkRow).where(KbChunkRow.doc_id.in_(ids)))
                conn.execute(delete(KbDocumentRow).where(KbDocumentRow.id.in_(ids)))
        self._index = None
        return len(ids)

    # ---- reading -------------------------------------------------------------------------------
    def documents(self) -> list[dict]:
        """Every document: key, lang, kind, title, source, chunks, sensitive, flagged (+ reason), updated_at."""
        counts = (select(KbChunkRow.doc_id, func.count().label("n")).group_by(KbChunkRow.doc_id).subquery())
        q = (select(KbDocumentRow.id, KbDocumentRow.doc_key, KbDocumentRow.lang, KbDocumentRow.kind,
                    KbDocumentRow.title, KbDocumentRow.source, KbDocumentRow.sensitive, KbDocumentRow.flagged,
                    KbDocumentRow.flag_reason, KbDocumentRow.updated_at, func.coalesce(counts.c.n, 0).label("chunks"))
             .outerjoin(counts, counts.c.doc_id == KbDocumentRow.id)
             .order_by(KbDocumentRow.kind, KbDocumentRow.doc_key, KbDocumentRow.lang))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def _signature(self, conn) -> tuple:
        return tuple(conn.execute(select(func.count(KbChunkRow.id), func.max(KbChunkRow.id))).one())

    def _load_index(self) -> _Index:
        with self._lock, self.engine.connect() as conn:
            sig = self._signature(conn)
            if self._index is not None and self._index.signature == sig:
                return self._index
            q = (select(KbChunkRow.id, KbChunkRow.doc_id, KbChunkRow.heading, KbChunkRow.text, KbChunkRow.model,
                        KbChunkRow.vector, KbDocumentRow.doc_key, KbDocumentRow.title, KbDocumentRow.source,
                        KbDocumentRow.lang, KbDocumentRow.sensitive)
                 .join(KbDocumentRow, KbDocumentRow.id == KbChunkRow.doc_id)
                 .where(KbDocumentRow.flagged.is_(False)).order_by(KbChunkRow.id))
            rows = [r._mapping for r in conn.execute(q)]
        name = getattr(self.embedder, "name", "embedder")
        stale = [i for i, r in enumerate(rows) if r["model"] != name]
        vectors = (np.vstack([np.frombuffer(r["vector"], dtype="<f4") for r in rows]) if rows
                   else np.zeros((0, getattr(self.embedder, "dim", 512)), dtype=np.float32))
        if stale:  # the embedder setting changed since `kb add`: re-embed once and store
            vectors = vectors.copy() if vectors.shape[1] == self.embedder.dim else np.zeros(
                (len(rows), self.embedder.dim), dtype=np.float32)
            fresh = self._embed([embed_text(rows[i]["title"], Chunk(rows[i]["heading"], rows[i]["text"]))
                                 for i in stale])
            with self.engine.begin() as conn:
                for j, i in enumerate(stale):
                    vectors[i] = fresh[j]
                    conn.execute(update(KbChunkRow).where(KbChunkRow.id == rows[i]["id"]).values(
                        model=name, dim=int(fresh.shape[1]), vector=fresh[j].astype("<f4").tobytes()))
        meta = [dict(doc_id=r["doc_id"], doc_key=r["doc_key"], title=r["title"], source=r["source"],
                     text=r["text"], lang=r["lang"], sensitive=bool(r["sensitive"]), heading=r["heading"])
                for r in rows]
        key_langs: dict[str, set[str]] = {}
        versions: dict[tuple[str, str], list[int]] = {}
        for i, m in enumerate(meta):
            key_langs.setdefault(m["doc_key"], set()).add(m["lang"])
            versions.setdefault((m["doc_key"], m["lang"]), []).append(i)
        bm25 = BM25([tokenize(f"{m['title']}\n{m['heading']}\n{m['text']}") for m in meta])
        index = _Index(sig if not stale else (sig[0], sig[1]), np.array([r["id"] for r in rows], dtype=np.int64),
                       np.ascontiguousarray(vectors, dtype=np.float32), bm25, meta,
                       np.array([m["lang"] for m in meta], dtype=object), key_langs,
                       {kl: np.array(ix, dtype=np.int64) for kl, ix in versions.items()})
        self._index = index
        return index

    def search(self, query: str, k: int = 5, *, query_vector: np.ndarray | None = None,
               lang: str | None = None) -> list[Passage]:
        """The k most relevant passages. With `lang`, a document that exists in that language is searched in
        that version only (so an answer can quote the customer's language); others are searched as they are."""
        if not isinstance(query, str) or not query.strip():
            raise BadInput("query", "is empty", "ask a question")
        if k < 1:
            raise BadInput("k", f"{k} is below 1", "ask for at least one passage")
        index = self._load_index()
        if not index.rows:
            return []
        if query_vector is None:
            query_vector = self.embedder.embed([query])[0]
        qv = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        tokens = tokenize(query)
        bm = index.bm25.scores(tokens)
        allowed = None
        if lang:
            allowed = np.array([m["lang"] == lang or lang not in index.key_langs[m["doc_key"]] for m in index.rows])
            # BM25 only matches the query's own language: a version that matches no word borrows the best match of
            # its translations, or a page that exists in one language only would win on word overlap alone.
            family = np.zeros(len(bm), dtype=np.float32)
            best: dict[str, float] = {}
            for i in np.flatnonzero(bm > 0):
                key = index.rows[i]["doc_key"]
                best[key] = max(best.get(key, 0.0), float(bm[i]))
            for (key, _), rows in index.versions.items():
                if key in best and not (bm[rows] > 0).any():
                    family[rows] = best[key]
            bm = np.maximum(bm, family)
        hits = rank(index.vectors, index.bm25, qv, tokens, k, allowed, bm_scores=bm)
        return [self._passage(index, h.index, h.score) for h in hits]

    @staticmethod
    def _passage(index: _Index, i: int, score: float) -> Passage:
        m = index.rows[i]
        return Passage(int(index.chunk_ids[i]), m["doc_id"], m["doc_key"], m["title"], m["source"], m["text"],
                       m["lang"], round(float(score), 4), m["sensitive"], m["heading"])

    def translations(self, doc_key: str) -> dict[str, Passage]:
        """Each language's version of a document, as a whole-document Passage (chunk_id: its first chunk)."""
        q = (select(KbDocumentRow, func.min(KbChunkRow.id))
             .outerjoin(KbChunkRow, KbChunkRow.doc_id == KbDocumentRow.id)
             .where(KbDocumentRow.doc_key == doc_key, KbDocumentRow.flagged.is_(False))
             .group_by(KbDocumentRow.id))
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return {d.lang: Passage(int(first or 0), d.id, d.doc_key, d.title, d.source, d.text, d.lang, 1.0,
                                bool(d.sensitive)) for d, first in rows}

    # ---- intents -------------------------------------------------------------------------------
    def intents(self) -> dict[str, dict]:
        """{intent: {"examples": {lang: [...]}, "answers": {lang: str}, "handoff": bool, "sensitive": bool}}."""
        q = select(KbDocumentRow.title, KbDocumentRow.meta, KbDocumentRow.sensitive, KbDocumentRow.flagged).where(
            KbDocumentRow.kind == "intent", KbDocumentRow.lang == INTENT_LANG).order_by(KbDocumentRow.doc_key)
        with self.engine.connect() as conn:
            return {r.title: {**r.meta, "sensitive": bool(r.sensitive), "flagged": bool(r.flagged)}
                    for r in conn.execute(q)}

    def intent_examples(self):
        """`Examples` (texts, intents) of every intent in every language, for `townsquare.respond.intents.train`."""
        from townsquare.respond.intents import Examples

        texts, labels = [], []
        for name, it in self.intents().items():
            for examples in it.get("examples", {}).values():
                texts.extend(examples)
                labels.extend([name] * len(examples))
        return Examples(texts, labels)

    def intent_answer(self, intent: str, lang: str) -> str | None:
        """The intent's answer template in `lang`, else in English, else in any language; None if it has none."""
        it = self.intents().get(intent)
        if not it or it.get("flagged"):
            return None
        answers = it.get("answers", {})
        return answers.get(lang) or answers.get("en") or next(iter(answers.values()), None)
