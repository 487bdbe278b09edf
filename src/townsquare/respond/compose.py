"""Extractive answers: the sentences of the retrieved passages that best answer the question, each cited.

The default generator (Gemma 3 270M, a base model) cannot be trusted to paraphrase policy text without changing
it, so the assistant never writes facts of its own: every factual sentence of an answer is a sentence of a
retrieved passage (markup removed), followed by ``[n]``, the number of its source. Sentences are scored by
cosine between their embedding and the question's (USE, and multilingual-e5 where installed: `E5Ranker`) plus the
share of the question's words they contain, so "and for China?" after a shipping question picks the sentence about
China. The section that holds the best sentence is the answer's core: quoted whole when short, else its sentences
that match the question about as well as its best one.
Questions inside a passage (an FAQ's question, a heading that asks) are never quoted as answers. A section's
first sentence is quoted after its heading ("What is not covered: Accidental damage ...") unless the heading is
the page's title or an FAQ question: alone, such a sentence can say the opposite of what the page means.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from townsquare.respond.retrieval import tokenize

MAX_SENTENCES = 3
MARGIN = 0.15  # a further sentence must score within this of the best one
OTHER_DOC_MARGIN = 0.05  # ... and within this when it comes from another document (answers stay coherent)
LEXICAL_WEIGHT = 0.2
LEAD_BONUS = 0.25
HEADING_WEIGHT = 0.8  # how well the sentence's heading (or FAQ question) matches the question
PASSAGE_WEIGHT = 0.3  # a sentence of a passage retrieval is sure about beats a similar one of a weak passage
# The weights were chosen by a small grid (lead 0.08-0.25, lexical 0.2-0.4, heading 0.3-0.8) on the 50 questions of
# benchmarks/data/respond_questions.jsonl: 0.80 -> 0.88 of answers state the expected fact.
RANK_WEIGHT = 1.0  # e5's cosine added to the score (1 and 2 scored alike on the question sets, 4 and 8 lost some)
# The best sentence's section: whole when this short, else its sentences within a margin of its closest one (e5
# cosine; USE cosine + lexical without e5), at most SECTION_MAX of them and ANSWER_MAX sentences in all. On the 89
# questions written later (benchmarks/respond_conversations.py) 64 -> 76 answers state the fact with sections and e5.
SECTION_WHOLE = 3
SECTION_MARGIN, RANKED_SECTION_MARGIN = 0.1, 0.03  # e5 cosines spread over ~0.15, USE's over ~0.5
SECTION_MAX = 3
ANSWER_MAX = 4
MIN_WEIGHT = 12  # shorter "sentences" (a bare label, "Refunds:") say nothing on their own

_SKIP_LINE = re.compile(r"^\s*(?:#|\|?\s*-{3,}|```|>)")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}")
TABLE_SEPARATORS = re.compile(r" — |; |: ")  # how a table row is rendered (tests split on these to check it)
_BULLET = re.compile(r"^\s*(?:[-*+•·]|\d{1,2}[.)、])\s+")
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[^\s\d])|(?<=[。！？；])")
_MARKUP = re.compile(r"\*\*|__|`|\[(?=[^\]]*\]\()|\]\([^)]*\)")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_QUESTION_END = ("?", "？")


def plain(text: str) -> str:
    """Markdown emphasis, code ticks and link targets removed; whitespace collapsed."""
    return " ".join(_MARKUP.sub("", text).split())


def _weight(text: str) -> int:
    return len(text) + len(_CJK.findall(text))


def _cells(line: str) -> list[str]:
    return [plain(c) for c in line.strip().strip("|").split("|")]


def sentences(text: str) -> list[str]:
    """Quotable sentences of a passage, in order: headings, table rules and questions left out. A table row
    becomes one sentence that names its columns: "Express — mainland China: next working day, ¥20; Europe: ..."
    (every piece between the separators is verbatim from the table)."""
    return [s for s, _, _ in sections(text)]


def sections(text: str, heading: str = "") -> list[tuple[str, str, int]]:
    """(sentence, the heading or FAQ question it sits under, its place in that section) for each quotable
    sentence. Headings summarise their section, so they help decide which section answers a question."""
    out: list[tuple[str, str, int]] = []
    lines = text.splitlines()
    header: list[str] = []
    place = 0

    def add(sentence: str) -> None:
        nonlocal place
        out.append((sentence, heading, place))
        place += 1

    for k, line in enumerate(lines):
        if line.lstrip().startswith("|"):
            nxt = lines[k + 1] if k + 1 < len(lines) else ""
            if _TABLE_RULE.match(nxt):
                header = _cells(line)
            elif not _TABLE_RULE.match(line):
                cells = _cells(line)
                pairs = [f"{h}: {c}" if h else c for h, c in zip(header[1:], cells[1:], strict=False) if c]
                row = f"{cells[0]} — " + "; ".join(pairs) if pairs else cells[0]
                if _weight(row) >= MIN_WEIGHT:
                    add(row)
            continue
        header = []
        if line.lstrip().startswith("#"):
            heading, place = plain(line.lstrip("# ").strip()), 0
            continue
        if not line.strip() or _SKIP_LINE.match(line):
            continue
        line = _BULLET.sub("", line)
        for s in _SPLIT.split(line):
            s = plain(s)
            if s.endswith(_QUESTION_END) and _weight(s) >= MIN_WEIGHT:
                heading, place = s, 0  # an FAQ's question heads its answer
            elif _weight(s) >= MIN_WEIGHT and not s.endswith(":"):
                add(s)
    return out


@dataclass
class Picked:
    text: str
    passage: int  # index into the passages given
    position: int  # the sentence's place in its passage
    score: float


@dataclass
class Composition:
    picked: list[Picked] = field(default_factory=list)
    best_score: float = 0.0
    best_cosine: float = 0.0  # the closest sentence to the question: evidence that something answers it
    best_e5: float = 0.0  # the same under e5 (0 without it)


class SentenceVectors:
    """Embeddings of knowledge-base sentences, computed once per sentence and kept (embed once, use everywhere):
    a warm assistant embeds only the question per turn."""

    def __init__(self, embedder, max_items: int = 50_000):
        self.embedder, self.max_items = embedder, max_items
        self._vecs: dict[str, np.ndarray] = {}

    def get(self, texts: list[str]) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self._vecs))
        if todo:
            if len(self._vecs) + len(todo) > self.max_items:
                self._vecs.clear()
            for t, v in zip(todo, np.asarray(self.embedder.embed(todo), dtype=np.float32), strict=True):
                self._vecs[t] = v
        return np.stack([self._vecs[t] for t in texts])


class E5Ranker:
    """Question-to-sentence similarity under multilingual-e5-small, a retrieval-trained encoder (``query:`` /
    ``passage:``), each sentence read under its heading. It ranks the knowledge base's sentences better than
    USE does: the sentence that states a question's expected fact comes first for 0.73 of 90 English and 0.76 of 46
    Chinese questions, against 0.58 and 0.63 for USE (heading included in both; `sentence_ranking` in
    benchmarks/respond_conversations.py). Sentence vectors are computed once and kept; a turn encodes only the
    question (~25-30 ms on 2 cores: it triples the time to answer, still far inside the 2 s target)."""

    def __init__(self, max_items: int = 50_000):
        self.max_items = max_items
        self._vecs: dict[str, np.ndarray] = {}

    @staticmethod
    def _model():
        from townsquare.respond.intents.encoders import e5_model

        return e5_model()

    @staticmethod
    def _unit(v) -> np.ndarray:
        v = np.asarray(v, dtype=np.float32).reshape(-1, 384)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)

    def similarity(self, question: str, passages: list[str]) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in passages if t not in self._vecs))
        if todo:
            if len(self._vecs) + len(todo) > self.max_items:
                self._vecs.clear()
            self._vecs.update(zip(todo, self._unit(self._model().passage(todo)), strict=True))
        q = self._unit(self._model().query([question]))[0]
        return np.stack([self._vecs[t] for t in passages]) @ q


def pick_sentences(query: str, query_vector: np.ndarray, passages: list, embedder,
                   max_sentences: int = MAX_SENTENCES, vectors: SentenceVectors | None = None,
                   answers_other_question: Callable[[np.ndarray], np.ndarray] | None = None,
                   ranker: E5Ranker | None = None) -> Composition:
    """The best sentences of ``passages`` (objects with ``.text``) for ``query``, in reading order.

    ``answers_other_question(sentence_vectors) -> bool mask`` marks sentences that plainly answer a different
    question than this one (the assistant asks its intent model); they are never quoted."""
    cands: list[tuple[int, int, str]] = []
    heads: list[str] = []
    places: list[int] = []
    quoted: dict[tuple[int, int], str] = {}  # what an answer quotes where the sentence alone would mislead
    for i, p in enumerate(passages):
        start = (getattr(p, "heading", "") or "").split(" › ")[-1]
        for j, (s, head, place) in enumerate(sections(p.text, start)):
            cands.append((i, j, s))
            heads.append(head)
            places.append(place)
            if place == 0 and _needs_heading(s, head, getattr(p, "title", "")):
                quoted[i, j] = _with_heading(s, head)
    if not cands:
        return Composition()
    texts = [s for _, _, s in cands]
    uniq_heads = sorted({h for h in heads if h})
    embed = vectors.get if vectors is not None else (lambda t: np.asarray(embedder.embed(t), dtype=np.float32))
    q = np.asarray(query_vector, dtype=np.float32).reshape(-1)
    sentence_vectors = embed(texts)
    cos = sentence_vectors @ q
    if answers_other_question is not None:
        off = np.asarray(answers_other_question(sentence_vectors), dtype=bool)
        if off.all():
            return Composition()
        cos = np.where(off, -np.inf, cos)
    head_cos = dict(zip(uniq_heads, (embed(uniq_heads) @ q).tolist(), strict=True)) if uniq_heads else {}
    q_tokens = set(tokenize(query))

    def lexical(text: str) -> float:
        return len(q_tokens & set(tokenize(text))) / len(q_tokens) if q_tokens else 0.0

    head_score = {h: 0.5 * head_cos[h] + 0.5 * lexical(h) for h in uniq_heads}
    ranked, best_e5 = np.zeros(len(texts)), 0.0
    if ranker is not None and RANK_WEIGHT:
        ranked = ranker.similarity(query, [_with_heading(s, h) if h else s for s, h in zip(texts, heads, strict=True)])
        best_e5 = float(np.where(np.isneginf(cos), -1.0, ranked).max())
        # e5 favours the question's own language ("以旧换新" found the Chinese exchange rules, not the English-only
        # trade-in page): it orders the sentences within each language; across languages USE decides
        langs = np.array([getattr(passages[i], "lang", "") for i, _, _ in cands])
        for lg in set(langs.tolist()):
            ranked[langs == lg] -= ranked[langs == lg].max()
    lex = np.array([lexical(s) for s in texts])
    scores = []
    for (i, _j, _s), c, head, place, r, w in zip(cands, cos, heads, places, ranked, lex, strict=True):
        rank_bonus = 0.05 * (len(passages) - i) / len(passages)  # retrieval order breaks near-ties
        rank_bonus += PASSAGE_WEIGHT * float(getattr(passages[i], "score", 0.0))
        lead_bonus = LEAD_BONUS / (1 + place)  # a section's first sentences state its rule; later ones exceptions
        section = HEADING_WEIGHT * head_score.get(head, 0.0)
        scores.append(float(c) + LEXICAL_WEIGHT * float(w) + rank_bonus + lead_bonus + section
                      + RANK_WEIGHT * float(r))
    order = np.argsort(-np.asarray(scores))
    best = scores[order[0]]
    chosen: list[Picked] = []
    seen: set[str] = set()
    for k in order:
        i, j, s = cands[k]
        if len(chosen) >= max_sentences or scores[k] < best - MARGIN or np.isneginf(scores[k]):
            break
        if s in seen:  # the same sentence in two passages (a translation's shared table, a repeated note)
            continue
        if chosen and scores[k] < best - OTHER_DOC_MARGIN and \
                getattr(passages[i], "doc_key", i) != getattr(passages[chosen[0].passage], "doc_key", chosen[0].passage):
            continue
        seen.add(s)
        chosen.append(Picked(quoted.get((i, j), s), i, j, scores[k]))
    if ranker is not None and RANK_WEIGHT:
        content, margin = np.asarray(ranked, dtype=np.float64), RANKED_SECTION_MARGIN
    else:
        content = cos + LEXICAL_WEIGHT * lex
        margin = SECTION_MARGIN
    for k in _section_picks(int(order[0]), cands, heads, content, scores, margin):
        i, j, s = cands[k]
        if s not in seen and len(chosen) < ANSWER_MAX:
            seen.add(s)
            chosen.append(Picked(quoted.get((i, j), s), i, j, scores[k]))
    # reading order: by passage rank, then by position in the passage
    chosen.sort(key=lambda p: (p.passage, p.position))
    return Composition(chosen, best, float(cos.max()), best_e5)  # the most similar sentence that may be quoted


def _section_picks(best: int, cands: list[tuple[int, int, str]], heads: list[str], content: np.ndarray,
                   scores: list[float], margin: float) -> list[int]:
    """The answer's core: sentences of the section the best sentence sits in. A short section is quoted whole
    (its sentences lean on each other: "Start a repair at acme.example/support." then "... most repairs are
    finished within 5 working days"); from a longer one, the sentences that match the question about as well as
    its best one, by content alone (the lead bonus would keep the section's first sentence on top)."""
    key = (cands[best][0], heads[best])
    members = [k for k, (i, _j, _s) in enumerate(cands) if (i, heads[k]) == key and not np.isneginf(scores[k])]
    if len(members) <= SECTION_WHOLE:
        return members
    top = max(content[k] for k in members)
    close = sorted((k for k in members if k != best and content[k] >= top - margin), key=lambda k: -content[k])
    return [best] + close[:SECTION_MAX - 1]


def _needs_heading(sentence: str, heading: str, title: str) -> bool:
    """A section's first sentence often leans on its heading: under "What is not covered", "Accidental damage
    such as a cracked screen ..." quoted alone reads as if it were covered. Not needed under the document's own
    title, an FAQ's question (it heads a full answer) or a heading the sentence already repeats."""
    return bool(heading) and heading != title and not heading.endswith(_QUESTION_END) \
        and heading.lower() not in sentence.lower()


def _with_heading(sentence: str, heading: str) -> str:
    """"What is not covered: Accidental damage ...", "不在保修范围内：意外损坏……" (both parts verbatim from the page)."""
    return f"{heading}{'：' if _CJK.search(heading) else ': '}{sentence}"


def join(parts: list[str], lang: str) -> str:
    return ("" if lang == "zh" else " ").join(parts)
