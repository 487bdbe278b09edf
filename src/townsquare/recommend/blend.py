"""townsquare's recommender: EASE + RP3beta + ALS, each scoring a profile widened by the user's friends.

Why this shape (validation NDCG@10 on HetRec Last.fm, see benchmarks/recommend.py):
- the user profile is log(1 + plays) scaled to the user's favourite (`log_user`): heavy listening counts more,
  but one obsession does not drown the rest;
- friends listen alike: adding `social_weight` × the mean of the friends' profiles helps the item models;
- EASE and RP3beta see the catalogue differently (regression vs. popularity-damped random walk) and ALS
  adds a smooth low-rank view; each is scaled to [−1, 1] per user before the weighted sum.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from townsquare.recommend.als import ALS
from townsquare.recommend.base import Recommender, mask_seen
from townsquare.recommend.ease import EASE
from townsquare.recommend.rp3beta import RP3beta
from townsquare.recommend.weighting import weigh


def _unit_rows(scores: np.ndarray) -> np.ndarray:
    """Divide each row by its largest finite |score|; −inf (never recommend) becomes −1."""
    finite = np.isfinite(scores)
    top = np.max(np.where(finite, np.abs(scores), 0.0), axis=1, keepdims=True)
    return np.where(finite, scores / np.maximum(top, 1e-12), -1.0).astype(np.float32)


class SocialBlend(Recommender):
    name = "townsquare"

    def __init__(self, social_weight: float = 0.2, ease_weight: float = 0.5, rp3_weight: float = 0.5,
                 als_weight: float = 0.4, ease_l2: float = 50.0, rp3_beta: float = 0.25, seed: int = 0):
        self.social_weight = social_weight
        self.weights = {"ease": ease_weight, "rp3": rp3_weight, "als": als_weight}
        self.ease = EASE(l2=ease_l2)
        self.rp3 = RP3beta(beta=rp3_beta)
        self.als = ALS(seed=seed)

    def _fit(self, x: sp.csr_matrix, social: sp.csr_matrix | None) -> None:
        for model, weight in ((self.ease, "ease"), (self.rp3, "rp3"), (self.als, "als")):
            if self.weights[weight]:
                model.fit(x)
        profile = weigh(x, "log_user")
        if social is not None and self.social_weight and social.nnz:
            friends = sp.csr_matrix(social, dtype=np.float32)
            friends.data[:] = 1.0
            degree = np.asarray(friends.sum(1)).ravel()
            mean_of_friends = sp.diags(1.0 / np.maximum(degree, 1.0)) @ friends @ profile
            profile = sp.csr_matrix(profile + self.social_weight * mean_of_friends)
        self.profile_ = profile

    def score(self, users: np.ndarray) -> np.ndarray:
        profiles = self.profile_[users]
        seen = self.seen_[users]
        parts = {"ease": lambda: self.ease.score_profiles(profiles),
                 "rp3": lambda: self.rp3.score_profiles(profiles),
                 "als": lambda: self.als.score(users)}
        total = np.zeros((len(users), self.seen_.shape[1]), np.float32)
        for key, weight in self.weights.items():
            if weight:
                s = parts[key]()
                mask_seen(s, seen)  # scale by the best *new* item: seen ones do not count
                total += weight * _unit_rows(s)
        return total
