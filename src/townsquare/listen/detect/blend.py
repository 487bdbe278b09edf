"""Blend (the default detector): range novelty plus an HTM-style anomaly likelihood on how rare each value is.

View 1 is novelty.py's range novelty (the value, and today against yesterday, moving beyond their range over the
last `window` points). View 2 asks "has the series been near this value lately?": the distance from the value to
its nearest neighbour among the last `history` values (all but the newest `skip`, so a new level stays rare for
`skip` points), ranked against the last `calib` such distances (a conformal p-value: no scale to fit). Only the
top ranks count (raw = how far the rank is into its top 1 - `quantile`), which makes the raw score sparse like
HTM's prediction error. Numenta's anomaly likelihood then compares the short mean of the raw score with its
long-run mean and spread: a run of rare values on a series that rarely has them scores high; the same run on a
series that always has them does not. The blend alerts when either view passes its bar; the score is
c / (1 + c) with c = the larger view in units of its bar, so 0.5 = the bar and scores still rank beyond it.

NAB dev (48 labelled series, standard profile, its own alerts): 69.2, against 64.5 for range novelty alone
(benchmarks/nab.py has all numbers). ~20 us a point; state ~20-25 kB of JSON for 5-minute data.
"""

from __future__ import annotations

import base64
import math
from collections import deque
from datetime import datetime
from typing import Any, ClassVar

import numpy as np

from townsquare.listen.detect.base import StreamDetector, gauss_surprise
from townsquare.listen.detect.novelty import Novelty


class Ring:
    """A fixed-size float ring buffer backed by numpy; its state is base64 bytes (exact and compact in JSON).

    Values are stored in `dtype` as they are added, so a resumed buffer computes exactly what the original did.
    """

    __slots__ = ("data", "size", "pos", "count", "dtype")

    def __init__(self, size: int, dtype: str = "<f8") -> None:
        self.size = int(size)
        self.dtype = dtype
        self.data = np.zeros(self.size, dtype=dtype)
        self.pos = 0
        self.count = 0

    def add(self, x: float) -> None:
        self.data[self.pos] = x
        self.pos = (self.pos + 1) % self.size
        self.count = min(self.count + 1, self.size)

    def values(self) -> np.ndarray:
        return self.data if self.count == self.size else self.data[: self.count]

    def to_state(self) -> dict[str, Any]:
        raw = self.values().tobytes()
        return {"data": base64.b64encode(raw).decode("ascii"), "pos": self.pos, "count": self.count}

    def from_state(self, state: dict[str, Any]) -> None:
        vals = np.frombuffer(base64.b64decode(state["data"]), dtype=self.dtype)
        self.data = np.zeros(self.size, dtype=self.dtype)
        self.data[: len(vals)] = vals
        self.pos, self.count = int(state["pos"]), int(state["count"])


class AnomalyLikelihood:
    """Numenta's anomaly likelihood with bounded state: surprise (-log10 tail p) of the short mean of raw scores.

    The long-run mean and variance are exponentially weighted (time constant `long`, a plain average early on)
    and floored like Numenta's (mean 0.03, variance 0.0003) so a perfectly quiet history cannot make noise look
    significant.
    """

    __slots__ = ("short", "long", "recent", "total", "mean", "var", "n")

    def __init__(self, short: int = 20, long: int = 4000) -> None:
        self.short, self.long = int(short), int(long)
        self.recent: deque[float] = deque(maxlen=self.short)
        self.total = 0.0
        self.mean = 0.0
        self.var = 0.0
        self.n = 0

    def update(self, raw: float) -> float:
        if len(self.recent) == self.short:
            self.total -= self.recent[0]
        self.recent.append(raw)
        self.total += raw
        avg = max(self.total, 0.0) / len(self.recent)
        surprise = 0.0
        if self.n >= self.short:
            sd = math.sqrt(max(self.var, 0.0003))
            z = (avg - max(self.mean, 0.03)) / sd
            if z > 0:
                surprise = gauss_surprise(z) - math.log10(2.0)  # one-sided tail
        self.n += 1
        a = max(1.0 / self.long, 1.0 / self.n)
        d = avg - self.mean
        self.mean += a * d
        self.var = (1 - a) * (self.var + a * d * d)
        return max(surprise, 0.0)

    def to_state(self) -> dict[str, Any]:
        return {"recent": list(self.recent), "total": self.total, "mean": self.mean, "var": self.var, "n": self.n}

    def from_state(self, state: dict[str, Any]) -> None:
        self.recent = deque((float(v) for v in state["recent"]), maxlen=self.short)
        self.total, self.mean, self.var = float(state["total"]), float(state["mean"]), float(state["var"])
        self.n = int(state["n"])


class Rarity:
    """Sparse raw score of one view: how far its nearest-neighbour distance ranks into the top of recent distances.

    The neighbours are the last `history` values of the view except the newest `skip`, so a new level stays rare
    for `skip` points (long enough for the likelihood's short mean to notice) instead of one.
    """

    __slots__ = ("values", "dists", "pending", "skip", "quantile")

    def __init__(self, history: int, calib: int, skip: int, quantile: float) -> None:
        self.values = Ring(history)
        self.dists = Ring(calib, "<f4")  # only ranked, so single precision is plenty
        self.pending: deque[float] = deque()
        self.skip, self.quantile = skip, quantile

    def update(self, value: float) -> float:
        raw = 0.0
        if self.values.count >= 10:
            nearest = float(np.abs(self.values.values() - value).min())
            dist = float(np.float32(min(nearest, 3e38)))
            if self.dists.count >= 20:
                past = self.dists.values()
                rank = float(np.count_nonzero(past < dist)) / (len(past) + 1)
                raw = max(0.0, (rank - self.quantile) / (1.0 - self.quantile))
            self.dists.add(dist)
        self.pending.append(value)
        if len(self.pending) > self.skip:
            self.values.add(self.pending.popleft())
        return raw

    def to_state(self) -> dict[str, Any]:
        return {"values": self.values.to_state(), "dists": self.dists.to_state(), "pending": list(self.pending)}

    def from_state(self, state: dict[str, Any]) -> None:
        self.values.from_state(state["values"])
        self.dists.from_state(state["dists"])
        self.pending = deque(float(v) for v in state["pending"])


class Blend(StreamDetector):
    """max(range novelty, anomaly likelihood of rarity per view); see the module docstring."""

    name: ClassVar[str] = "blend"
    STATE: ClassVar[tuple[str, ...]] = ("novelty", "rarity", "lik")
    DEFAULT_THRESHOLD: ClassVar[float] = 0.5

    def __init__(self, novelty_bar: float = 0.5, likelihood_bar: float = 5.0, history: int = 1000,
                 calib: int = 1000, quantile: float = 0.99, short: int = 20, long: int = 4000,
                 skip: int = 10, rare: str = "value", channels: str = "value,smean30", window: int = 5000,
                 threshold: float | None = None, warmup: int = 150, holdoff: int = 30) -> None:
        super().__init__(threshold, warmup, holdoff)
        if not (0 < novelty_bar < 1 and likelihood_bar > 0 and 0 < quantile < 1):
            raise ValueError("novelty_bar and quantile must be in (0, 1), likelihood_bar > 0")
        if history < 10 or calib < 20 or short < 1 or long < short or skip < 0:
            raise ValueError("history >= 10, calib >= 20, 1 <= short <= long, skip >= 0")
        self.novelty_bar, self.likelihood_bar = float(novelty_bar), float(likelihood_bar)
        self.history, self.calib, self.quantile = int(history), int(calib), float(quantile)
        self.short, self.long, self.skip = int(short), int(long), int(skip)
        self.rare = [v.strip() for v in rare.split(",") if v.strip()]  # views scored by rarity + likelihood
        self.alarm = [c.strip() for c in channels.split(",") if c.strip()]  # views scored by range novelty
        # one Novelty computes every view (and the ranges of the alarm views); unknown names raise ValueError there
        self.novelty = Novelty(channels=",".join(dict.fromkeys(self.alarm + self.rare)), window=window,
                               warmup=0, holdoff=0)
        self.rarity = {v: Rarity(self.history, self.calib, self.skip, self.quantile) for v in self.rare}
        self.lik = {v: AnomalyLikelihood(self.short, self.long) for v in self.rare}

    def params(self) -> dict[str, Any]:
        return {**super().params(), "novelty_bar": self.novelty_bar, "likelihood_bar": self.likelihood_bar,
                "history": self.history, "calib": self.calib, "quantile": self.quantile, "short": self.short,
                "long": self.long, "skip": self.skip, "rare": ",".join(self.rare),
                "channels": ",".join(self.alarm), "window": self.novelty.window}

    def _score(self, timestamp: datetime, value: float) -> float:
        self.novelty.score_one(timestamp, value)
        views, excess = self.novelty.last_views, self.novelty.last_scores
        best = max((excess.get(c, 0.0) for c in self.alarm), default=0.0) / self.novelty_bar
        for v in self.rare:
            if v in views:
                best = max(best, self.lik[v].update(self.rarity[v].update(views[v])) / self.likelihood_bar)
        return combine(best)


def combine(c: float) -> float:
    """Map "times the bar" (1 = at the bar) to [0, 1) with 0.5 at the bar, still ranking beyond it."""
    return c / (1.0 + c) if c > 0 else 0.0
