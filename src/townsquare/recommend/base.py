"""The one contract every recommender keeps: `fit(interactions, social)` then batched `recommend(users, k)`.

Users and items are row and column indices of the interaction matrix (see `data.Interactions` for the
external ids). A model only has to say how it scores a batch of users (`score`); ranking, excluding what a
user already has and batching live here, once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import scipy.sparse as sp


class Recommender(ABC):
    """fit → recommend. Subclasses implement `_fit` and `score`; scores of −inf mean "never recommend"."""

    name = "recommender"
    batch_size = 256  # users scored at once: bounds memory to batch_size × n_items floats

    def fit(self, interactions: sp.csr_matrix, social: sp.csr_matrix | None = None) -> Recommender:
        """Learn from a users × items matrix of weights (> 0 means an interaction) and an optional
        symmetric users × users friend matrix."""
        x = sp.csr_matrix(interactions, dtype=np.float32)
        x.sum_duplicates()
        x.eliminate_zeros()
        if social is not None and social.shape != (x.shape[0], x.shape[0]):
            raise ValueError(f"social graph is {social.shape}, expected {(x.shape[0], x.shape[0])}")
        self.seen_ = x
        self._fit(x, None if social is None else sp.csr_matrix(social, dtype=np.float32))
        return self

    @abstractmethod
    def _fit(self, x: sp.csr_matrix, social: sp.csr_matrix | None) -> None: ...

    @abstractmethod
    def score(self, users: np.ndarray) -> np.ndarray:
        """A dense (len(users) × n_items) float array; higher is better."""

    def recommend(self, users: np.ndarray | list[int], k: int = 10,
                  exclude_seen: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Top-k item indices and their scores per user, best first; −1 pads a list with fewer than k."""
        if k < 1:
            raise ValueError("k must be at least 1")
        users = np.asarray(users, dtype=np.int64)
        n_items = self.seen_.shape[1]
        items = np.full((len(users), k), -1, np.int64)
        scores = np.full((len(users), k), -np.inf, np.float32)
        kk = min(k, n_items)
        for start in range(0, len(users), self.batch_size):
            batch = users[start:start + self.batch_size]
            s = np.array(self.score(batch), dtype=np.float32)
            s[~np.isfinite(s)] = -np.inf
            if exclude_seen:
                mask_seen(s, self.seen_[batch])
            top = np.argpartition(-s, kk - 1, axis=1)[:, :kk] if kk < n_items else np.tile(np.arange(n_items), (len(batch), 1))
            top_scores = np.take_along_axis(s, top, 1)
            order = np.lexsort((top, -top_scores), axis=1)  # best first; ties by item index
            top, top_scores = np.take_along_axis(top, order, 1), np.take_along_axis(top_scores, order, 1)
            top[~np.isfinite(top_scores)] = -1
            items[start:start + len(batch), :kk] = top
            scores[start:start + len(batch), :kk] = top_scores
        return items, scores


def mask_seen(scores: np.ndarray, seen: sp.csr_matrix) -> None:
    """Set the scores of the items each user already has to −inf, in place."""
    rows = np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr))
    scores[rows, seen.indices] = -np.inf
