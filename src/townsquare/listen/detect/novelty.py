"""Range novelty (the default detector): a view of the series moving beyond everything it did lately.

For each view (the value itself; the mean of the last k seasonal differences, i.e. today against the same
time yesterday; optionally the mean, log-spread or change of the last k values) the detector keeps the min
and max over a long trailing window, in blocks so the state stays small. A point whose view lands beyond
that range by `excess` (as a fraction of the range) scores excess / (excess + margin): 0.5 at `margin`
beyond. New extremes are what most incidents look like (a spike, a drop, a level shift); the seasonal view
catches a day that does not look like yesterday even inside the usual range (a missing daily peak).
"""

from __future__ import annotations

import math
import re
from collections import deque
from datetime import datetime
from typing import Any, ClassVar

from townsquare.listen.detect.base import StreamDetector

_CHANNEL = re.compile(r"^(value|diff|mean|smean|logstd)(\d*)$")
DAY = 86400.0


class BlockRange:
    """Min and max of roughly the last `window` values, kept as per-block extremes (state ~ window/block pairs)."""

    __slots__ = ("block", "blocks", "lo", "hi", "cur_lo", "cur_hi", "cur_n")

    def __init__(self, window: int = 2000, block: int = 50) -> None:
        self.block = block
        self.blocks: deque[tuple[float, float]] = deque(maxlen=max(1, window // block))
        self.lo = self.hi = math.nan  # over the completed blocks (cached)
        self.cur_lo = self.cur_hi = math.nan
        self.cur_n = 0

    def count(self) -> int:
        return len(self.blocks) * self.block + self.cur_n

    def range(self) -> tuple[float, float]:
        lo = min(self.lo, self.cur_lo) if self.blocks else self.cur_lo
        hi = max(self.hi, self.cur_hi) if self.blocks else self.cur_hi
        if self.blocks and not self.cur_n:
            lo, hi = self.lo, self.hi
        return lo, hi

    def add(self, x: float) -> None:
        if self.cur_n == 0:
            self.cur_lo = self.cur_hi = x
        else:
            self.cur_lo, self.cur_hi = min(self.cur_lo, x), max(self.cur_hi, x)
        self.cur_n += 1
        if self.cur_n == self.block:
            self.blocks.append((self.cur_lo, self.cur_hi))
            self.lo = min(b[0] for b in self.blocks)
            self.hi = max(b[1] for b in self.blocks)
            self.cur_n = 0

    def to_state(self) -> dict[str, Any]:
        return {"blocks": [list(b) for b in self.blocks], "cur": [self.cur_lo, self.cur_hi, self.cur_n]}

    def from_state(self, state: dict[str, Any]) -> None:
        self.blocks = deque((tuple(map(float, b)) for b in state["blocks"]), maxlen=self.blocks.maxlen)
        lo, hi, n = state["cur"]
        self.cur_lo, self.cur_hi, self.cur_n = float(lo), float(hi), int(n)
        if self.blocks:
            self.lo = min(b[0] for b in self.blocks)
            self.hi = max(b[1] for b in self.blocks)


class Novelty(StreamDetector):
    """Range novelty over several views, combined by max; see the module docstring."""

    name: ClassVar[str] = "novelty"
    STATE: ClassVar[tuple[str, ...]] = ("ranges", "recent", "resid", "season", "period", "last_ts")
    DEFAULT_THRESHOLD: ClassVar[float] = 0.5

    def __init__(self, channels: str = "value,smean30", window: int = 2000, margin: float = 0.04,
                 threshold: float | None = None, warmup: int = 150, holdoff: int = 30) -> None:
        super().__init__(threshold, warmup, holdoff)
        self.channels = [c.strip() for c in channels.split(",") if c.strip()]
        ks = [1]
        for c in self.channels:
            m = _CHANNEL.match(c)
            if not m or (m.group(1) in ("mean", "smean", "logstd") and not m.group(2)):
                raise ValueError(f"unknown channel {c!r}: use value, diff, meanK, smeanK or logstdK")
            ks.append(int(m.group(2) or 1))
        if margin <= 0 or window < 100:
            raise ValueError("margin must be > 0 and window >= 100")
        self.window, self.margin = int(window), float(margin)
        # ~40 blocks whatever the window, so the state stays small
        self.ranges = {c: BlockRange(self.window, max(50, self.window // 40)) for c in self.channels}
        self.recent: deque[float] = deque(maxlen=max(ks) + 1)
        self.resid: deque[float] = deque(maxlen=max(ks))
        self.season: deque[float] = deque(maxlen=1)
        self.period = 0  # points per day, learnt from the first step between timestamps
        self.last_ts: float | None = None
        self.last_views: dict[str, float] = {}  # the last point's views and channel scores (not state: rebuilt
        self.last_scores: dict[str, float] = {}  # by the next point)

    def params(self) -> dict[str, Any]:
        return {**super().params(), "channels": ",".join(self.channels), "window": self.window,
                "margin": self.margin}

    def from_state(self, state: dict[str, Any]) -> None:
        if state.get("name", self.name) != self.name:
            return  # another detector's state: start fresh (see StreamDetector.from_state)
        super().from_state(state)
        # the seasonal buffer's length is the learnt period, not a constructor constant
        self.season = deque(state.get("state", {}).get("season", []), maxlen=max(1, self.period))

    def _learn_period(self, timestamp: datetime) -> None:
        ts = timestamp.timestamp() if isinstance(timestamp, datetime) else float(timestamp)
        if self.last_ts is not None and not self.period:
            step = ts - self.last_ts
            if step > 0 and DAY % step == 0 and 8 <= DAY // step <= 1440:
                self.period = int(DAY // step)
                self.season = deque(maxlen=self.period)
        self.last_ts = ts

    def _views(self, value: float) -> dict[str, float]:
        views = {"value": value}
        if self.recent:
            views["diff"] = value - self.recent[-1]
        self.recent.append(value)
        if self.period:
            if len(self.season) == self.period:
                self.resid.append(value - self.season[0])
            self.season.append(value)
        for c in self.channels:
            m = _CHANNEL.match(c)
            kind, k = m.group(1), int(m.group(2) or 1)
            if kind in views:
                continue
            src = self.resid if kind == "smean" else self.recent
            if len(src) < k:
                continue
            xs = list(src)[-k:]
            mean = sum(xs) / k
            if kind == "logstd":
                var = max(sum(v * v for v in xs) / k - mean * mean, 0.0)
                views[c] = math.log(math.sqrt(var) + 1e-6 * (abs(mean) + 1e-3))
            else:
                views[c] = mean
        return views

    def _score(self, timestamp: datetime, value: float) -> float:
        self._learn_period(timestamp)
        views = self._views(value)
        scores: dict[str, float] = {}
        for c in self.channels:
            if c not in views:
                continue
            v, rng = views[c], self.ranges[c]
            if rng.count() >= 10:
                lo, hi = rng.range()
                spread = (hi - lo) or (abs(hi) * 1e-3 + 1e-9)
                excess = max(v - hi, lo - v) / spread
                if excess > 0:
                    scores[c] = excess / (excess + self.margin)
            rng.add(v)
        self.last_views, self.last_scores = views, scores  # for detectors built on top (blend.py)
        return max(scores.values(), default=0.0)
