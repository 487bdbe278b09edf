"""Item-kNN: items are alike when the same people have them (cosine with shrinkage)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from townsquare.recommend.base import Recommender
from townsquare.recommend.weighting import weigh


class ItemKNN(Recommender):
    """sim(i, j) = |U_i ∩ U_j| / (√|U_i| √|U_j| + shrink), the `neighbours` most similar kept per item;
    a user's score for j sums sim(i, j) over the items i they have (binary profile)."""

    name = "item-kNN"

    def __init__(self, shrink: float = 5.0, neighbours: int = 500):
        self.shrink, self.neighbours = shrink, neighbours

    def _fit(self, x: sp.csr_matrix, social: sp.csr_matrix | None) -> None:
        b = weigh(x, "binary").tocsc()
        norms = np.sqrt(np.asarray(b.sum(0)).ravel())
        co = sp.csr_matrix(b.T @ b).tocoo()
        keep = co.row != co.col
        data = co.data[keep] / (norms[co.row[keep]] * norms[co.col[keep]] + self.shrink)
        sim = sp.csr_matrix((data, (co.row[keep], co.col[keep])), shape=co.shape, dtype=np.float32)
        self.sim_ = _top_per_column(sim, self.neighbours)
        self.profile_ = weigh(x, "binary")

    def score(self, users: np.ndarray) -> np.ndarray:
        return (self.profile_[users] @ self.sim_).toarray()


def _top_per_column(sim: sp.csr_matrix, n: int) -> sp.csr_matrix:
    """Keep the n largest similarities into each item (its column), so scoring stays sparse and fast."""
    csc = sim.tocsc()
    rows, cols, vals = [], [], []
    for j in range(csc.shape[1]):
        a, b = csc.indptr[j], csc.indptr[j + 1]
        idx, v = csc.indices[a:b], csc.data[a:b]
        if len(v) > n:
            top = np.argpartition(-v, n - 1)[:n]
            idx, v = idx[top], v[top]
        rows.append(idx)
        cols.append(np.full(len(idx), j))
        vals.append(v)
    if not rows:
        return sim
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=sim.shape)
