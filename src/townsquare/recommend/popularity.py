"""Most-listened-to first: the floor every personalised model must clear."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from townsquare.recommend.base import Recommender


class Popularity(Recommender):
    """Score = how many users have the item (the same list for everyone, minus what they have)."""

    name = "popularity"

    def _fit(self, x: sp.csr_matrix, social: sp.csr_matrix | None) -> None:
        self.counts_ = np.bincount(x.indices, minlength=x.shape[1]).astype(np.float32)

    def score(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.counts_, (len(users), len(self.counts_)))
