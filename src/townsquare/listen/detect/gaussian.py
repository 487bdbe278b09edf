"""Windowed Gaussian (NAB's baseline): how unlikely is a value under a Gaussian fit to the last `window` values.

NAB dev 39.5 standard with its own alerts (published windowed Gaussian: 35.0); state holds the window itself.
"""

from __future__ import annotations

import math
from collections import deque
from datetime import datetime
from typing import Any, ClassVar

from townsquare.listen.detect.base import StreamDetector


class WindowedGaussian(StreamDetector):
    """Score = 1 - two-sided Gaussian tail probability of the value under the mean/std of the trailing window."""

    name: ClassVar[str] = "gaussian"
    STATE: ClassVar[tuple[str, ...]] = ("values", "total", "total_sq")
    DEFAULT_THRESHOLD: ClassVar[float] = 0.99999

    def __init__(self, window: int = 1000, threshold: float | None = None, warmup: int = 150, holdoff: int = 30):
        super().__init__(threshold, warmup, holdoff)
        self.window = int(window)
        self.values: deque[float] = deque(maxlen=self.window)
        self.total = 0.0
        self.total_sq = 0.0

    def params(self) -> dict[str, Any]:
        return {**super().params(), "window": self.window}

    def _score(self, timestamp: datetime, value: float) -> float:
        n = len(self.values)
        score = 0.0
        if n > 1:
            mean = self.total / n
            std = math.sqrt(max(self.total_sq / n - mean * mean, 0.0)) or 1e-6
            score = math.erf(abs(value - mean) / std / math.sqrt(2.0))
        if n == self.window:
            old = self.values[0]
            self.total -= old
            self.total_sq -= old * old
        self.values.append(value)
        self.total += value
        self.total_sq += value * value
        return score
