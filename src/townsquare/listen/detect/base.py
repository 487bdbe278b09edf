"""The detector contract: one point in, one anomaly score in [0, 1] out, no look-ahead.

Every detector keeps a small state (plain numbers and short lists), so `to_state()` is JSON-able and
`from_state()` resumes exactly where it stopped. The alert rule (threshold + hold-off) lives here, shared
by every detector: NAB (and a person on call) counts only the first alert of an incident, and every
further alert outside an incident is a false positive.
"""

from __future__ import annotations

import math
from collections import deque
from datetime import datetime
from typing import Any, ClassVar, Protocol, runtime_checkable


@runtime_checkable
class Detector(Protocol):
    """What the Listen job needs from a detector."""

    name: str
    threshold: float

    def score_one(self, timestamp: datetime, value: float) -> float: ...

    def to_state(self) -> dict[str, Any]: ...

    def from_state(self, state: dict[str, Any]) -> None: ...


def tail_score(surprise: float, scale: float = 5.0) -> float:
    """Map a surprise in -log10(p) units to [0, 1): 0.5 at p = 10^-scale, never saturating (so scores still rank)."""
    if not surprise > 0:  # also NaN
        return 0.0
    if surprise == math.inf:
        return 1.0
    return surprise / (surprise + scale)


def gauss_surprise(z: float) -> float:
    """-log10 of the two-sided Gaussian tail probability of a z-score (stable for huge z)."""
    z = abs(z)
    if z < 8:
        p = math.erfc(z / math.sqrt(2.0))
        return -math.log10(max(p, 1e-300))
    # asymptotic: log p ~ -z^2/2 - log(z) - 0.5 log(pi/2)
    return (z * z / 2 + math.log(z) + 0.5 * math.log(math.pi / 2)) / math.log(10)


class StreamDetector:
    """Base class: warm-up, alert rule (threshold + hold-off) and state round-trip.

    Subclasses implement `_score(timestamp, value) -> float` (in [0, 1]) and list their mutable
    attributes in `STATE` (plain JSON values).
    """

    name: ClassVar[str] = "base"
    STATE: ClassVar[tuple[str, ...]] = ()
    DEFAULT_THRESHOLD: ClassVar[float] = 0.5

    def __init__(self, threshold: float | None = None, warmup: int = 150, holdoff: int = 30) -> None:
        self.threshold = float(self.DEFAULT_THRESHOLD if threshold is None else threshold)
        self.warmup = int(warmup)  # points scored 0 while the statistics settle
        self.holdoff = int(holdoff)  # points after an alert during which no new alert is raised
        self.n = 0
        self.since_alert = 1 << 30
        self.alert = False  # the alert decision for the last point scored
        self.last_time: str | None = None

    # -- the contract --------------------------------------------------------------------------------
    def score_one(self, timestamp: datetime, value: float) -> float:
        """Learn this point and return its anomaly score (only data up to `timestamp` is used)."""
        value = float(value)
        self.n += 1
        self.last_time = timestamp.isoformat() if isinstance(timestamp, datetime) else str(timestamp)
        if not math.isfinite(value):
            # a missing value carries no evidence: keep the state, never alert on it
            self.since_alert += 1
            self.alert = False
            return 0.0
        score = float(self._score(timestamp, value))
        if not (score >= 0.0):  # NaN guard
            score = 0.0
        score = min(score, 1.0)
        if self.n <= self.warmup:
            score = 0.0
        self.since_alert += 1
        self.alert = score >= self.threshold and self.since_alert > self.holdoff
        if self.alert:
            self.since_alert = 0
        return score

    def alert_one(self, timestamp: datetime, value: float) -> tuple[float, bool]:
        """Score a point and apply the alert rule: (score, alert)."""
        score = self.score_one(timestamp, value)
        return score, self.alert

    def _score(self, timestamp: datetime, value: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- persistence ---------------------------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "warmup": self.warmup, "holdoff": self.holdoff}

    def to_state(self) -> dict[str, Any]:
        state = {k: _plain(getattr(self, k)) for k in ("n", "since_alert", "alert", "last_time") + self.STATE}
        return {"name": self.name, "params": self.params(), "state": state}

    def from_state(self, state: dict[str, Any]) -> None:
        """Resume from `to_state()` output (parameters given to the constructor win over stored ones).

        A state saved by a different detector (e.g. before the default changed) is ignored: this one starts fresh
        rather than mixing someone else's statistics into its own.
        """
        if state.get("name", self.name) != self.name:
            return
        for key, val in state.get("state", {}).items():
            if key in ("n", "since_alert", "alert", "last_time") or key in self.STATE:
                setattr(self, key, _restore(getattr(self, key, None), val))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (list, tuple, deque)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "to_state"):
        return value.to_state()
    return value


def _restore(current: Any, value: Any) -> Any:
    if hasattr(current, "from_state") and isinstance(value, dict):
        current.from_state(value)
        return current
    if isinstance(current, dict) and isinstance(value, dict):
        return {k: _restore(current.get(k), v) for k, v in value.items()}
    if isinstance(current, deque) and isinstance(value, list):
        return deque((_restore(None, v) for v in value), maxlen=current.maxlen)
    if value in ("inf", "-inf"):
        return float(value)
    if isinstance(current, float) and value is None:
        return math.nan
    return value
