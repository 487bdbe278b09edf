"""RP3beta (Paudel et al., 2017): a 3-step random walk user → item → user → item, with the landing item's
probability divided by its popularity^β so the long tail gets a chance."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from townsquare.recommend.base import Recommender
from townsquare.recommend.weighting import weigh


def _row_normalise(m: sp.csr_matrix) -> sp.csr_matrix:
    sums = np.asarray(m.sum(1)).ravel()
    return sp.csr_matrix(sp.diags(1.0 / np.maximum(sums, 1e-12)) @ m)


class RP3beta(Recommender):
    name = "RP3beta"

    def __init__(self, beta: float = 0.25):
        self.beta = beta

    def _fit(self, x: sp.csr_matrix, social: sp.csr_matrix | None) -> None:
        b = weigh(x, "binary")
        self.user_to_item_ = _row_normalise(b)  # P(item | user)
        self.item_to_user_ = _row_normalise(sp.csr_matrix(b.T))  # P(user | item)
        counts = np.bincount(b.indices, minlength=b.shape[1]).astype(np.float32)
        self.penalty_ = 1.0 / np.power(np.maximum(counts, 1.0), self.beta)
        self.profile_ = b

    def score_profiles(self, profiles: sp.csr_matrix) -> np.ndarray:
        """Walk from each profile's items; never builds the items × items matrix (users are far fewer)."""
        to_users = (profiles @ self.item_to_user_).toarray()  # batch × users
        landed = np.asarray((self.user_to_item_.T @ to_users.T).T)  # batch × items
        return (landed * self.penalty_).astype(np.float32)

    def score(self, users: np.ndarray) -> np.ndarray:
        return self.score_profiles(self.profile_[users])
