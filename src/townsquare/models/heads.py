"""Small trained heads over the shared post embedding, saved as folders and run with numpy only.

A head folder holds ``config.json`` (name, labels, kind, threshold, how it was trained and
how well it did) and ``weights.npz``:

* ``W{i}``/``b{i}``: dense layers over the embedding (ReLU between them; one layer = logistic
  regression, two = a one-hidden-layer MLP);
* optional ``hash_ids`` (int32, sorted) + ``hash_w`` (float16, one row per id): the weights
  of the hashed n-gram features of `townsquare.understand.features.hashed_ngrams` that
  survived pruning; their sum over a post's n-grams is added to the logits;
* optional ``lex_w`` (4, outputs) and ``lex_mean`` (4,): weights of the post's VADER scores
  (`townsquare.understand.features.lexicon_scores`), added to the logits, and the training posts'
  mean scores, which stand in for a post VADER cannot read (a Chinese post).

``kind`` is ``softmax`` (one label among ``labels``) or ``sigmoid`` (probability of
``labels[1]``). Like sentence-transformers modules, each head saves and loads itself
(`Head.save` / `Head.load`) and is used through one batched call (`Head.predict_proba`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Head:
    name: str
    labels: list[str]
    kind: str  # "softmax" | "sigmoid"
    layers: list[tuple[np.ndarray, np.ndarray]]
    hash_ids: np.ndarray | None = None
    hash_w: np.ndarray | None = None
    threshold: float = 0.5  # sigmoid heads: p >= threshold counts as labels[1] in the metrics
    meta: dict = field(default_factory=dict)
    lex_w: np.ndarray | None = None
    lex_mean: np.ndarray | None = None
    _table: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_outputs(self) -> int:
        return self.layers[-1][0].shape[1]

    def logits(self, emb: np.ndarray, ngrams: tuple[np.ndarray, np.ndarray] | None = None,
               lexicon: np.ndarray | None = None) -> np.ndarray:
        """Without ``ngrams`` a head reads the post as if it had no known n-gram. Without ``lexicon``,
        or where its row is NaN, the post's VADER scores count as the training posts' mean: VADER
        knows no Chinese, and its "no sentiment word here" would push Chinese posts to neutral.
        (How Chinese posts are read by the English heads.)"""
        x = emb
        for i, (w, b) in enumerate(self.layers):
            x = x @ w + b
            if i < len(self.layers) - 1:
                np.maximum(x, 0, out=x)
        if self.lex_w is not None:
            unread = self.lex_mean if self.lex_mean is not None else np.zeros(len(self.lex_w), np.float32)
            lex = unread[None, :] if lexicon is None else np.where(np.isnan(lexicon), unread, lexicon)
            x = x + lex @ self.lex_w
        if self.hash_ids is not None and ngrams is not None:
            x = x + self._hashed(ngrams)
        return x

    def _hashed(self, ngrams: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        from townsquare.understand.features import N_BUCKETS

        if self._table is None:  # dense lookup table, built on first use (~1 MB per output)
            self._table = np.zeros((N_BUCKETS, self.n_outputs), dtype=np.float32)
            self._table[self.hash_ids] = self.hash_w.astype(np.float32)
        indptr, indices = ngrams
        rows = self._table[indices]
        cs = np.zeros((len(indices) + 1, self.n_outputs), dtype=np.float64)
        np.cumsum(rows, axis=0, out=cs[1:])
        return (cs[indptr[1:]] - cs[indptr[:-1]]).astype(np.float32)

    def predict_proba(self, emb: np.ndarray, ngrams: tuple[np.ndarray, np.ndarray] | None = None,
                      lexicon: np.ndarray | None = None) -> np.ndarray:
        """(n, len(labels)) probabilities for softmax heads, (n,) for sigmoid heads."""
        return self.probabilities(self.logits(emb, ngrams, lexicon))

    def probabilities(self, z: np.ndarray) -> np.ndarray:
        """Logits -> what `predict_proba` returns."""
        if self.kind == "sigmoid":
            return 1.0 / (1.0 + np.exp(-np.clip(z[:, 0], -50, 50)))
        z = z - z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for i, (w, b) in enumerate(self.layers):
            arrays[f"W{i}"], arrays[f"b{i}"] = w.astype(np.float16), b.astype(np.float32)
        if self.hash_ids is not None:
            arrays["hash_ids"] = self.hash_ids.astype(np.int32)
            arrays["hash_w"] = self.hash_w.astype(np.float16)
        if self.lex_w is not None:
            arrays["lex_w"] = self.lex_w.astype(np.float32)
            if self.lex_mean is not None:
                arrays["lex_mean"] = self.lex_mean.astype(np.float32)
        np.savez_compressed(folder / "weights.npz", **arrays)
        config = {"name": self.name, "labels": self.labels, "kind": self.kind,
                  "n_layers": len(self.layers), "threshold": self.threshold, **self.meta}
        (folder / "config.json").write_text(json.dumps(config, indent=1, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, folder: Path) -> Head:
        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text())
        with np.load(folder / "weights.npz") as z:
            layers = [(z[f"W{i}"].astype(np.float32), z[f"b{i}"].astype(np.float32))
                      for i in range(config["n_layers"])]
            hash_ids = z["hash_ids"].astype(np.int64) if "hash_ids" in z.files else None
            hash_w = z["hash_w"] if "hash_w" in z.files else None
            lex_w = z["lex_w"].astype(np.float32) if "lex_w" in z.files else None
            lex_mean = z["lex_mean"].astype(np.float32) if "lex_mean" in z.files else None
        meta = {k: v for k, v in config.items()
                if k not in ("name", "labels", "kind", "n_layers", "threshold")}
        return cls(config["name"], config["labels"], config["kind"], layers, hash_ids, hash_w,
                   float(config.get("threshold", 0.5)), meta, lex_w, lex_mean)



class HeadSet:
    """Several heads scored together over the same posts: their hashed n-gram weights sit in one
    (buckets x all outputs) table, so one sparse product scores every head (for the seven
    understand heads, 14x faster than a gather and a cumulative sum per head)."""

    def __init__(self, heads: dict[str, Head]):
        from townsquare.understand.features import N_BUCKETS

        self.heads = heads
        self._hashed = [h for h in heads.values() if h.hash_ids is not None]
        self._column = {h.name: k for k, h in enumerate(self._hashed)}
        self._offsets = np.cumsum([0] + [h.n_outputs for h in self._hashed])
        self._table = np.zeros((N_BUCKETS, int(self._offsets[-1])), dtype=np.float32)  # ~1 MB per output
        for k, h in enumerate(self._hashed):
            self._table[h.hash_ids, self._offsets[k]:self._offsets[k + 1]] = h.hash_w.astype(np.float32)

    def __getitem__(self, name: str) -> Head:
        return self.heads[name]

    @property
    def uses_lexicon(self) -> bool:
        return any(h.lex_w is not None for h in self.heads.values())

    def predict_proba(self, emb: np.ndarray, ngrams: tuple[np.ndarray, np.ndarray] | None = None,
                      names: tuple[str, ...] | None = None,
                      lexicon: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """``{name: Head.predict_proba(emb, ngrams, lexicon)}`` for ``names`` (default: every head)."""
        import scipy.sparse as sp

        scores = None
        if ngrams is not None and self._hashed:
            indptr, indices = ngrams
            posts = sp.csr_matrix((np.ones(len(indices), np.float32), indices, indptr),
                                  shape=(len(indptr) - 1, len(self._table)))
            scores = posts @ self._table
        out = {}
        for name in names or tuple(self.heads):
            head = self.heads[name]
            z = head.logits(emb, None, lexicon)
            if scores is not None and head.name in self._column:
                k = self._column[head.name]
                z = z + scores[:, self._offsets[k]:self._offsets[k + 1]]
            out[name] = head.probabilities(z)
        return out
