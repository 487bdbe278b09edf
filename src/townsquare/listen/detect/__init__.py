"""Streaming anomaly detectors for Listen: `get_detector(name)` and `detect_series(timestamps, values)`.

Each detector scores one point at a time (`score_one(timestamp, value) -> [0, 1]`, using nothing after that
point) and decides alerts with a shared rule (score >= threshold and no alert in the last `holdoff` points),
exposed as `detector.alert` after each `score_one`. Benchmarked on NAB in benchmarks/nab.py:
"default" (= "blend": range novelty + anomaly likelihood of value rarity) scores 69.2 standard on the 48
labelled NAB series with its own alert decisions ("novelty" alone: 64.5).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from townsquare.errors import BadInput
from townsquare.listen.detect.base import Detector, StreamDetector
from townsquare.listen.detect.blend import Blend
from townsquare.listen.detect.gaussian import WindowedGaussian
from townsquare.listen.detect.novelty import Novelty
from townsquare.listen.detect.robust import RobustZ

DETECTORS: dict[str, type[StreamDetector]] = {
    "gaussian": WindowedGaussian,
    "robust": RobustZ,
    "novelty": Novelty,
    "blend": Blend,
}
DEFAULT = "blend"  # the benchmarked choice (benchmarks/nab.py)


def get_detector(name: str = "default", **params: Any) -> StreamDetector:
    """A fresh detector by name ("default" = the benchmarked choice); params override its defaults."""
    key = DEFAULT if name == "default" else name
    if key not in DETECTORS:
        raise BadInput("detector", f"unknown detector {name!r}", f"choose one of default, {', '.join(DETECTORS)}")
    try:
        return DETECTORS[key](**params)
    except (TypeError, ValueError) as exc:
        raise BadInput("detector", f"bad parameters for {key}: {exc}", "check the parameter names") from None


def detect_series(timestamps: Sequence[datetime], values: Sequence[float] | np.ndarray, name: str = "default",
                  **params: Any) -> tuple[np.ndarray, np.ndarray]:
    """Run a fresh detector over a whole series in order: (scores, alerts as 0/1)."""
    det = get_detector(name, **params)
    n = len(values)
    scores = np.zeros(n)
    alerts = np.zeros(n, dtype=np.int8)
    for i, (t, v) in enumerate(zip(timestamps, values, strict=True)):
        scores[i] = det.score_one(t, v)
        alerts[i] = det.alert
    return scores, alerts


__all__ = ["DETECTORS", "Detector", "StreamDetector", "detect_series", "get_detector"]
