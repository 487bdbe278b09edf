"""Matrix factorisation baselines from the `implicit` package: ALS (Hu, Koren & Volinsky) and BPR."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from townsquare.recommend.base import Recommender
from townsquare.recommend.weighting import weigh


class _Implicit(Recommender):
    weighting = "log1p"

    def _make(self):  # noqa: ANN202 - an implicit model
        raise NotImplementedError

    def _fit(self, x: sp.csr_matrix, social: sp.csr_matrix | None) -> None:
        with threadpool_limits(1, "blas"):  # implicit runs its own threads; BLAS threads on top only fight
            model = self._make()
            model.fit(weigh(x, self.weighting), show_progress=False)
        self.user_factors_ = np.asarray(model.user_factors, np.float32)
        self.item_factors_ = np.asarray(model.item_factors, np.float32)

    def score(self, users: np.ndarray) -> np.ndarray:
        return self.user_factors_[users] @ self.item_factors_.T


class ALS(_Implicit):
    """Weighted ALS on log(1 + plays); 64 factors and strong regularisation (tuned on a validation split)."""

    name = "implicit ALS"

    def __init__(self, factors: int = 64, regularization: float = 5.0, iterations: int = 20, seed: int = 0):
        self.factors, self.regularization, self.iterations, self.seed = factors, regularization, iterations, seed

    def _make(self):  # noqa: ANN202
        from implicit.cpu.als import AlternatingLeastSquares

        return AlternatingLeastSquares(factors=self.factors, regularization=self.regularization,
                                       iterations=self.iterations, random_state=self.seed)


class BPR(_Implicit):
    """Bayesian personalised ranking on binary feedback; one thread so that the SGD is reproducible."""

    name = "implicit BPR"
    weighting = "binary"

    def __init__(self, factors: int = 64, iterations: int = 100, learning_rate: float = 0.01, seed: int = 0):
        self.factors, self.iterations, self.learning_rate, self.seed = factors, iterations, learning_rate, seed

    def _make(self):  # noqa: ANN202
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        return BayesianPersonalizedRanking(factors=self.factors, iterations=self.iterations,
                                           learning_rate=self.learning_rate, random_state=self.seed,
                                           num_threads=1)
