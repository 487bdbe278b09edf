"""Head folders: save/load round trip and the numpy hashed-feature sum, checked against scipy."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from townsquare.models import Head
from townsquare.understand.features import (
    N_BUCKETS,
    _distinct_kernel,
    clean,
    distinct_per_text,
    hashed_ngrams,
    lexicon_scores,
)


def _head(kind: str, k: int) -> Head:
    rng = np.random.default_rng(0)
    ids = np.sort(rng.choice(N_BUCKETS, 5000, replace=False))
    return Head("t", ["a", "b", "c"][: max(k, 2)], kind, [(rng.standard_normal((512, k)).astype(np.float32),
                                                           rng.standard_normal(k).astype(np.float32))],
                hash_ids=ids, hash_w=rng.standard_normal((5000, k)).astype(np.float16), threshold=0.4)


def test_hashed_sum_matches_sparse_product():
    texts = ["Hello world!", "你好，世界", "", "a"]
    indptr, indices = hashed_ngrams([clean(t) for t in texts])
    head = _head("softmax", 3)
    x = sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(texts), N_BUCKETS))
    table = np.zeros((N_BUCKETS, 3))
    table[head.hash_ids] = head.hash_w.astype(np.float64)
    assert np.allclose(head._hashed((indptr, indices)), x @ table, atol=1e-4)


def test_each_text_gets_its_distinct_buckets():
    """The linear-time dedup equals sorting (text, bucket) keys, whatever the order of the pairs."""
    texts = ["ha ha ha ha", "", "你好你好你好", "Hello world! hello WORLD", "a", "ha ha ha ha"]
    indptr, indices = hashed_ngrams(texts)
    rng = np.random.default_rng(0)
    owner = rng.integers(0, 50, 20_000)
    bucket = rng.integers(0, 300, 20_000)  # many repeats within a text
    keys = np.unique(owner * N_BUCKETS + bucket)
    for got_indptr, got in (distinct_per_text(owner, bucket, 51, N_BUCKETS),  # pure Python, as compiled
                            _distinct_kernel()(owner, bucket, 51, N_BUCKETS)):
        assert np.array_equal(got_indptr, np.searchsorted(keys // N_BUCKETS, np.arange(52)))
        for t in range(51):
            assert np.array_equal(np.sort(got[got_indptr[t]:got_indptr[t + 1]]),
                                  keys[got_indptr[t]:got_indptr[t + 1]] % N_BUCKETS)
    assert np.array_equal(indices[indptr[0]:indptr[1]], indices[indptr[5]:indptr[6]])  # same text, same ids
    row = indices[indptr[3]:indptr[4]]
    assert len(row) == len(set(row))


def test_save_load_round_trip(tmp_path):
    emb = np.random.default_rng(1).standard_normal((4, 512)).astype(np.float32)
    grams = hashed_ngrams(["one", "two", "three", "four"])
    for kind, k in (("softmax", 3), ("sigmoid", 1)):
        head = _head(kind, k)
        head.layers = [(w.astype(np.float16).astype(np.float32), b) for w, b in head.layers]  # saved as fp16
        head.save(tmp_path / kind)
        loaded = Head.load(tmp_path / kind)
        assert loaded.threshold == 0.4 and loaded.kind == kind
        assert np.allclose(loaded.predict_proba(emb, grams), head.predict_proba(emb, grams), atol=1e-5)
    p = loaded.predict_proba(emb, grams)
    assert p.shape == (4,) and ((p >= 0) & (p <= 1)).all()


def test_lexicon_weights_round_trip_and_unread_posts_get_the_mean(tmp_path):
    emb = np.random.default_rng(2).standard_normal((3, 512)).astype(np.float32)
    texts = ["I do NOT like this at all :(", "这家店太差了", "great!!! 😍"]
    lexicon = lexicon_scores(texts)
    assert not lexicon[1].any()  # VADER knows no Chinese word: "no evidence", a zero row
    head = _head("softmax", 3)
    rng = np.random.default_rng(3)
    head.lex_w, head.lex_mean = rng.standard_normal((4, 3)).astype(np.float32), lexicon.mean(axis=0)
    head.save(tmp_path / "h")
    loaded = Head.load(tmp_path / "h")
    assert np.array_equal(loaded.lex_w, head.lex_w) and np.array_equal(loaded.lex_mean, head.lex_mean)
    unread = loaded.logits(emb)  # no lexicon: every post counts as the training mean
    read = loaded.logits(emb, None, lexicon)
    assert np.allclose(read - unread, (lexicon - head.lex_mean) @ head.lex_w, atol=1e-5)
    mixed = lexicon.copy()
    mixed[1] = np.nan  # a Chinese post in an English batch
    got = loaded.logits(emb, None, mixed)
    assert np.allclose(got[[0, 2]], read[[0, 2]]) and np.allclose(got[1], unread[1])


def test_lexicon_scores_read_negation_capitals_and_emoji():
    neg, neu, pos, compound = lexicon_scores(["good", "not good", "GOOD!!!", "😍", "the table"]).T
    assert compound[0] > 0 > compound[1]  # negation flips it
    assert compound[2] > compound[0]  # capitals and exclamation marks boost it
    assert pos[3] > 0  # emoji are read through their descriptions
    assert compound[4] == neg[4] == pos[4] == neu[4] == 0  # no lexicon word: a zero row
