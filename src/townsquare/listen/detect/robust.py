"""Robust z-scores of the value and of its change against exponentially weighted, winsorised statistics.

A baseline: it reads z as Gaussian, so on heavy-tailed series (CPU, network, counts) it fires far too often
(NAB dev 11.4 standard with its own alerts, see benchmarks/nab.py); use "default" for alerts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from townsquare.listen.detect.base import StreamDetector, gauss_surprise, tail_score
from townsquare.listen.detect.stats import RobustEW


class RobustZ(StreamDetector):
    name: ClassVar[str] = "robust"
    STATE: ClassVar[tuple[str, ...]] = ("level", "change", "prev")
    DEFAULT_THRESHOLD: ClassVar[float] = 0.5

    def __init__(self, alpha: float = 0.01, threshold: float | None = None, warmup: int = 150,
                 holdoff: int = 30) -> None:
        super().__init__(threshold, warmup, holdoff)
        self.alpha = float(alpha)
        self.level = RobustEW(self.alpha)
        self.change = RobustEW(self.alpha)
        self.prev: float | None = None

    def params(self) -> dict[str, Any]:
        return {**super().params(), "alpha": self.alpha}

    def _score(self, timestamp: datetime, value: float) -> float:
        floor = 1e-9 + 1e-6 * abs(self.level.mean)
        s = gauss_surprise(self.level.z(value, floor))
        if self.prev is not None:
            d = value - self.prev
            s = max(s, gauss_surprise(self.change.z(d, floor)))
            self.change.update(d)
        self.level.update(value)
        self.prev = value
        return tail_score(s)
