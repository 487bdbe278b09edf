"""Hybrid retrieval over knowledge-base chunks: BM25 (jieba for Chinese) + embedding cosine, fused by RRF.

Why both: BM25 nails exact product words and order jargon ("IMEI", "退款"); the multilingual embedding finds
paraphrases and crosses languages (a Chinese question finds an English-only page, where BM25 finds nothing).
Reciprocal-rank fusion (Cormack et al. 2009, k=60) orders the candidates without having to make the two scores
commensurable. The *score* handed to callers is separate and absolute — a logistic function of the cosine and of
the saturated BM25 — so that "low retrieval confidence" means the same thing for every query (see `calibrated`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from townsquare.text.segment import segment

RRF_K = 60
BM25_K1, BM25_B = 1.2, 0.75

# Calibration of the relevance score: sigmoid(A * cosine + B * bm25_sat + C), bm25_sat = s / (s + BM25_HALF).
# Fitted by logistic regression (class-balanced) on the even-numbered questions of
# benchmarks/data/respond_questions.jsonl (top-1 right: 1, wrong: 0) plus CLINC150 oos_train (off-topic: 0) against
# the demo KB; `benchmarks/respond_kb.py` refits it and reports the odd-numbered questions and oos_val.
# 0.5 is the natural hand-off threshold.
CAL_A, CAL_B, CAL_C, BM25_HALF = 11.2, 3.6, -4.27, 6.0

# A Latin run stops where Chinese starts ("acme手机" -> "acme", "手机"): \w alone would swallow the Chinese.
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[^\W_\u3400-\u9fff\uf900-\ufaff]+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_EN_STOP = frozenset(
    "a an the and or but if of to in on at by for with from as is are was were be been being am do does did "
    "i me my we our you your he she it its they them their this that these those what which who whom how when "
    "where why can could would should will shall may might must have has had not no so than too very just "
    "there here about into over out up down please hi hello thanks thank get got long much many".split()
)  # + question words ("how long", "how much"): they say what is asked, not what about
_ZH_STOP = frozenset("的 了 是 我 你 您 吗 呢 吧 啊 在 和 与 及 或 就 都 也 要 会 能 可以 一个 怎么 如何 什么 请问 请 "
                     "这个 那个 有 没有 把 被 给 让 对 为 为什么 哪 哪里 还 又 么 多久 多少 多长 几 怎样 怎么办 "
                     "到 想 一下 里 吗？".split())


def _stem(word: str) -> str:
    """A light English stemmer: plural and common verb endings, enough for 'returns'/'returned'/'returning'."""
    if len(word) <= 3 or not word.isascii():
        return word
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", "e"), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            stem = word[: -len(suffix)] + repl
            if suffix in ("ing", "ed") and len(stem) >= 4 and stem[-1] == stem[-2] and stem[-1] not in "aeioulsz":
                stem = stem[:-1]  # shipping -> ship, stopped -> stop
            return _single_l(stem)
    return _single_l(word)


def _single_l(word: str) -> str:
    """cancelling/cancelled/cancel and installing/install meet (British doubling), as in Porter's last step."""
    return word[:-1] if len(word) >= 6 and word.endswith("ll") else word


_NEGATORS = frozenset("not no never without cannot nor".split())
_CONTRACTION = re.compile(r"\b(?:(ca)|(wo)|(\w+))n['\u2019]t\b")  # can't, won't, isn't, don't...


def _uncontract(match: re.Match) -> str:
    return ("can" if match.group(1) else "will" if match.group(2) else match.group(3)) + " not"


# One word for one act, however a customer writes it: "log in", "login", "sign-in" and "signing on" are all signing
# in; 登陆 is the common misspelling of 登录, and jieba keeps 登不上/登不进 whole.
_SAME_WORD = [(re.compile(r"\b(?:log|sign)(?:s|ged|ging|ed|ing)?[\s-]?(?:in|on)\b|\blog(?:in|on)s?\b|\bsignin\b", re.I),
               " signin "),
              (re.compile(r"登陆|登入|登不上|登不进|登不了"), "登录")]


def tokenize(text: str) -> list[str]:
    """Lower-cased, lightly stemmed words; Chinese runs segmented by jieba (precise mode: search mode's extra
    sub-words, e.g. 充电器 -> 充电 电器 充电器, counted one match three times and matched 电器 to unrelated pages).

    An English word after a negation also gives a ``not_`` twin ("isn't covered" -> cover, not_cover): "not" is a
    stop word, so "What is not covered?" otherwise matched the warranty's intro ("batteries are covered") best."""
    out: list[str] = []
    negated = False
    text = _CONTRACTION.sub(_uncontract, text.lower())
    for pattern, word in _SAME_WORD:
        text = pattern.sub(word, text)
    for m in _TOKEN.finditer(text):
        run = m.group()
        if _CJK.match(run):
            out.extend(w for w in segment(run) if w.strip() and w not in _ZH_STOP)
            negated = False
        elif run in _NEGATORS:
            negated = True
        elif run not in _EN_STOP:
            out.append(_stem(run))
            if negated:
                out.append("not_" + out[-1])
            negated = False
    return out


class BM25:
    """Okapi BM25 over token lists, with per-term posting arrays (only the query's terms are touched)."""

    def __init__(self, docs: list[list[str]]):
        self.n = len(docs)
        lengths = np.array([len(d) for d in docs], dtype=np.float32)
        avg = float(lengths.mean()) if self.n and lengths.mean() > 0 else 1.0
        self.norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths / avg)
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for i, doc in enumerate(docs):
            for term, tf in Counter(doc).items():
                ids, tfs = postings.setdefault(term, ([], []))
                ids.append(i)
                tfs.append(tf)
        self.postings = {t: (np.array(ids, dtype=np.int32), np.array(tfs, dtype=np.float32))
                         for t, (ids, tfs) in postings.items()}
        self.idf = {t: math.log(1 + (self.n - len(p[0]) + 0.5) / (len(p[0]) + 0.5)) for t, p in self.postings.items()}

    def scores(self, query: list[str]) -> np.ndarray:
        s = np.zeros(self.n, dtype=np.float32)
        for term in set(query):
            p = self.postings.get(term)
            if p is None:
                continue
            ids, tf = p
            s[ids] += self.idf[term] * tf * (BM25_K1 + 1) / (tf + self.norm[ids])
        return s


def calibrated(cosine: np.ndarray, bm25: np.ndarray) -> np.ndarray:
    """Relevance in [0, 1] that means the same for every query (see CAL_* above)."""
    sat = bm25 / (bm25 + BM25_HALF)
    return 1.0 / (1.0 + np.exp(-(CAL_A * cosine + CAL_B * sat + CAL_C)))


@dataclass
class Ranked:
    index: int  # row in the index
    rrf: float
    cosine: float
    bm25: float
    score: float


def rank(vectors: np.ndarray, bm25: BM25, query_vec: np.ndarray, query_tokens: list[str], k: int,
         allowed: np.ndarray | None = None, *, bm_scores: np.ndarray | None = None) -> list[Ranked]:
    """Top-k rows by reciprocal-rank fusion of the cosine ranking and the BM25 ranking (BM25 > 0 only).
    `bm_scores` replaces `bm25.scores(query_tokens)` when the caller has adjusted them."""
    if vectors.shape[0] == 0 or k <= 0:
        return []
    cos = vectors @ query_vec.astype(np.float32)
    bm = bm25.scores(query_tokens) if bm_scores is None else bm_scores
    candidates = np.flatnonzero(allowed) if allowed is not None else np.arange(len(cos))
    if candidates.size == 0:
        return []
    fused = np.zeros(len(cos), dtype=np.float64)
    by_cos = candidates[np.argsort(-cos[candidates], kind="stable")]
    fused[by_cos] += 1.0 / (RRF_K + 1 + np.arange(len(by_cos)))
    hit = candidates[bm[candidates] > 0]
    if hit.size:
        by_bm = hit[np.argsort(-bm[hit], kind="stable")]
        fused[by_bm] += 1.0 / (RRF_K + 1 + np.arange(len(by_bm)))
    top = candidates[np.argsort(-fused[candidates], kind="stable")[:k]]
    score = calibrated(cos[top], bm[top])
    return [Ranked(int(i), float(fused[i]), float(cos[i]), float(bm[i]), float(s)) for i, s in zip(top, score,
                                                                                                    strict=True)]
