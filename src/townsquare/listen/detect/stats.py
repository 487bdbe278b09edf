"""Small streaming statistics with JSON-able state: robust exponentially weighted location and scale."""

from __future__ import annotations

from typing import Any


class RobustEW:
    """Exponentially weighted mean and mean absolute deviation, winsorised at `clip` scales.

    Early on the weight is 1/n (a plain running average) so the first points settle it quickly. Winsorising
    keeps one spike from inflating the scale; a lasting shift still gets learnt, because the clipped
    deviation keeps pushing the scale up until the new level fits.
    """

    __slots__ = ("alpha", "clip", "mean", "dev", "n")

    def __init__(self, alpha: float, clip: float = 4.0) -> None:
        self.alpha, self.clip = alpha, clip
        self.mean = 0.0
        self.dev = 0.0
        self.n = 0

    def scale(self, floor: float = 0.0) -> float:
        return max(self.dev * 1.2533, floor)  # mean absolute deviation -> Gaussian sigma

    def z(self, x: float, floor: float) -> float:
        return (x - self.mean) / self.scale(floor) if self.n else 0.0

    def update(self, x: float) -> None:
        self.n += 1
        a = max(self.alpha, 1.0 / self.n)
        d = x - self.mean
        if self.n == 1:
            self.mean = x
            return
        lim = self.clip * self.dev * 1.2533
        if lim > 0:
            d = max(-lim, min(lim, d))
        self.mean += a * d
        self.dev += a * (abs(d) - self.dev)

    def to_state(self) -> dict[str, Any]:
        return {"mean": self.mean, "dev": self.dev, "n": self.n}

    def from_state(self, state: dict[str, Any]) -> None:
        self.mean, self.dev, self.n = float(state["mean"]), float(state["dev"]), int(state["n"])

