"""Cheap text features shared by training and inference.

`clean` puts every post in the shape the models read (TweetEval style: user
mentions -> ``@user``, links -> ``http``; long posts cut to ``MAX_CHARS``; no spaces between
Chinese characters, so word-segmented Chinese such as "巧克力 味 的" reads like "巧克力味的").
`hashed_ngrams` maps a post to sparse feature ids (word 1-2-grams + character 2-4-grams,
which also covers Chinese, hashed into ``N_BUCKETS`` buckets) so that a linear head can
score it by summing weight rows: no vocabulary file, no sklearn at run time.
`lexicon_scores` adds VADER's reading of an English post (negation, boosters, capitals, "but",
emoji), which the n-grams miss.
"""

from __future__ import annotations

import functools
import re
import zlib
from itertools import chain

import numpy as np

MAX_CHARS = 1_000  # longer posts are cut: the heads were trained on tweets and reviews
N_BUCKETS = 1 << 18
_URL = re.compile(r"https?://\S+|www\.\S+")
# not after a Latin letter or digit (an e-mail address); after a Chinese character it is a mention,
# as in Weibo's "回复@name:" and "分享自@name"
_MENTION = re.compile(r"(?<![A-Za-z0-9_])@\w+")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[#@]?\w+|[^\w\s]", re.UNICODE)
_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"  # Han, CJK and full-width punctuation
_CJK_GAP = re.compile(rf"(?<=[{_CJK}]) (?=[{_CJK},.!?;:~])|(?<=[,.!?;:~]) (?=[{_CJK}])")


def clean(text: str, join_cjk: bool = True) -> str:
    """The text as the models read it. ``join_cjk=False`` keeps spaces next to Chinese characters:
    how the shipped Chinese models were trained (see below)."""
    text = _URL.sub("http", text[:MAX_CHARS])
    text = _MENTION.sub("@user", text)
    text = _SPACES.sub(" ", text).strip()
    if not join_cjk or text.isascii():
        return text
    # Chinese puts no spaces between words. Word-segmented text (one of the Weibo test's columns)
    # cost 5 points on ChnSentiCorp dev (0.938 -> 0.888); joined, 0.935. Training on joined text
    # too cost the fine-tuned encoder ~1 point on dev (0.923 -> 0.916 and 0.913, two seeds): a
    # quarter of the reviews have a space after a full stop, which seems to mark a new sentence
    # for the tokenizer. So the models learn from text as written and read it joined.
    return _CJK_GAP.sub("", text)


_MIX = np.uint64(0x9E3779B97F4A7C15)
_FNV = np.uint64(0x100000001B3)


def _mix(h: np.ndarray) -> np.ndarray:
    """Scramble 64-bit hashes (xor-shift-multiply) so their low bits make good buckets."""
    h = h ^ (h >> np.uint64(31))
    h = h * _MIX
    return h ^ (h >> np.uint64(29))


def _char_grams(low: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(text index, hash) of every character 2-, 3- and 4-gram of " text ", all texts at once."""
    joined = "\x00".join(f" {t} " for t in low)
    cp = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    sizes = np.array([len(t) + 3 for t in low], dtype=np.int64)  # text + 2 spaces + separator
    owner = np.repeat(np.arange(len(low)), sizes)[:len(cp)]
    seps = np.concatenate([[0], np.cumsum(cp == 0)])
    tids, hashes = [], []
    for n in (2, 3, 4):
        m = len(cp) - n + 1
        if m <= 0:
            continue
        h = np.full(m, (n * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF, dtype=np.uint64)
        for j in range(n):
            h ^= cp[j:j + m]
            h *= _FNV
        inside = seps[n:n + m] == seps[:m]  # no separator inside the window
        tids.append(owner[:m][inside])
        hashes.append(h[inside])
    return np.concatenate(tids), np.concatenate(hashes)


def _word_grams(low: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(text index, hash) of every word unigram and bigram; each distinct word is hashed once."""
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(w, len(vocab)) for w in _WORD.findall(t)] for t in low]
    crc = zlib.crc32
    word_hash = np.fromiter((crc(w.encode("utf-8")) for w in vocab), dtype=np.uint64, count=len(vocab))
    counts = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    flat = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=int(counts.sum()))
    owner = np.repeat(np.arange(len(low)), counts)
    uni = word_hash[flat] + np.uint64(1)
    same = owner[1:] == owner[:-1]
    bi = word_hash[flat[:-1]][same] * _FNV + word_hash[flat[1:]][same] + np.uint64(7)
    return np.concatenate([owner, owner[1:][same]]), np.concatenate([uni, bi])


def hashed_ngrams(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """CSR-style (indptr, indices) of the distinct hashed n-gram ids of each text (binary features,
    in first-seen order).

    Word 1-2-grams and character 2-4-grams of the lower-cased text, hashed with fixed
    functions (stable across processes and machines) into ``N_BUCKETS`` buckets; vectorised
    over the whole batch.
    """
    low = [t.lower().replace("\x00", " ") for t in texts]
    if not low:
        return np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    ct, ch = _char_grams(low)
    wt, wh = _word_grams(low)
    owner = np.concatenate([ct, wt]).astype(np.int64)
    bucket = (_mix(np.concatenate([ch, wh])) & np.uint64(N_BUCKETS - 1)).astype(np.int64)
    return _distinct_kernel()(owner, bucket, len(low), N_BUCKETS)


def distinct_per_text(owner: np.ndarray, bucket: np.ndarray, n_texts: int,
                      n_buckets: int) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """(indptr, indices): each text's distinct buckets, in first-seen order.

    Linear time: a counting sort by text, then one pass that stamps each bucket with the text
    that last used it. Sorting (text, bucket) keys, as before, took half of the n-gram step's time.
    """
    start = np.zeros(n_texts + 1, np.int64)
    for i in range(len(owner)):
        start[owner[i] + 1] += 1
    start = np.cumsum(start)
    grouped = np.empty(len(owner), np.int64)
    fill = start[:-1].copy()
    for i in range(len(owner)):
        grouped[fill[owner[i]]] = bucket[i]
        fill[owner[i]] += 1
    stamp = np.zeros(n_buckets, np.int32)
    indptr = np.zeros(n_texts + 1, np.int64)
    k = 0
    for t in range(n_texts):
        for j in range(start[t], start[t + 1]):
            b = grouped[j]
            if stamp[b] != t + 1:
                stamp[b] = t + 1
                grouped[k] = b
                k += 1
        indptr[t + 1] = k
    return indptr, grouped[:k].copy()


@functools.cache
def _distinct_kernel():  # noqa: ANN202 - the compiled distinct_per_text
    from numba import njit  # the ml extra, like the encoder's kernels; compiled once, cached on disk

    return njit(nogil=True, cache=True)(distinct_per_text)


LEXICON_FEATURES = ("neg", "neu", "pos", "compound")
_NO_EVIDENCE = np.array([0.0, 1.0, 0.0, 0.0], dtype=np.float32)  # VADER on a text with none of its words


@functools.cache
def _vader():  # noqa: ANN202 - a FastVader
    from townsquare.understand.vader import FastVader  # needs vaderSentiment, the ml extra

    return FastVader()


def lexicon_scores(texts: list[str]) -> np.ndarray:
    """(n, 4) float32: VADER's (neg, neu, pos, compound) of each text, minus what it says of a text
    with none of its words, so that a zero row means "no lexicon evidence" (Chinese posts are not
    read: the heads give them the training posts' mean, `Head.logits`).

    Stacked into the English sentiment head, VADER's rules (negation, boosters, capitals, "but",
    emoji) add what hashed n-grams and the embedding miss: 5-fold CV 0.698 -> 0.702. Its lexicon
    alone (valence sums, no rules) added nothing (0.6985). ~50,000 tweets/s on one core (`FastVader`:
    the package's scores, 2.6x faster).
    """
    analyzer = _vader()
    out = np.empty((len(texts), len(LEXICON_FEATURES)), dtype=np.float32)
    for i, text in enumerate(texts):
        s = analyzer.polarity_scores(text)
        out[i] = s["neg"], s["neu"], s["pos"], s["compound"]
    out -= _NO_EVIDENCE
    return out
