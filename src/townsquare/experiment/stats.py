"""Significance for A/B reports from sufficient statistics (n, sum, sum of squares), so the store can aggregate.

- rates (share of users who did something): two-proportion z-test with the pooled standard error; Wald interval of
  the difference; Wilson interval per arm.
- means (per-user amounts): Welch's t-test (unequal variances, Welch-Satterthwaite degrees of freedom); t intervals.
- relative lift (treatment / control - 1): delta-method interval.
- sample-ratio mismatch: chi-square goodness of fit of the arms' user counts against their weights.
Every function returns None for what is undefined (an empty arm, no variance) rather than NaN: JSON has no NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats as _st

SRM_THRESHOLD = 0.001  # a mismatch this unlikely under a fair split means the assignment or logging is broken


@dataclass(frozen=True)
class Summary:
    """An arm's per-user metric: n users, the sum and the sum of squares of their values."""

    n: int
    total: float
    squares: float

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    @property
    def var(self) -> float | None:
        """Sample variance (n - 1 in the denominator)."""
        if self.n < 2:
            return None
        return max(0.0, (self.squares - self.total**2 / self.n) / (self.n - 1))


def _z(alpha: float) -> float:
    return float(_st.norm.ppf(1 - alpha / 2))


def wilson_interval(successes: int, n: int, alpha: float = 0.05) -> tuple[float, float] | None:
    if n == 0:
        return None
    z, p = _z(alpha), successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def mean_interval(s: Summary, alpha: float = 0.05) -> tuple[float, float] | None:
    if s.var is None:
        return None
    half = float(_st.t.ppf(1 - alpha / 2, s.n - 1)) * math.sqrt(s.var / s.n)
    return s.mean - half, s.mean + half


def two_proportion_ztest(x1: int, n1: int, x2: int, n2: int, alpha: float = 0.05) -> dict:
    """Arm 2 against arm 1: z, two-sided p (pooled SE) and the difference p2 - p1 with its Wald interval."""
    if n1 == 0 or n2 == 0:
        return {"statistic": None, "p_value": None, "diff": None, "diff_ci": None}
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    z = (p2 - p1) / se0 if se0 > 0 else None
    p = float(2 * _st.norm.sf(abs(z))) if z is not None else None
    half = _z(alpha) * se
    return {"statistic": z, "p_value": p, "diff": p2 - p1, "diff_ci": (p2 - p1 - half, p2 - p1 + half)}


def welch_ttest(a: Summary, b: Summary, alpha: float = 0.05) -> dict:
    """Arm b against arm a: Welch's t, its degrees of freedom, two-sided p and mean(b) - mean(a) with its interval."""
    if a.var is None or b.var is None:
        return {"statistic": None, "p_value": None, "df": None, "diff": None, "diff_ci": None}
    va, vb = a.var / a.n, b.var / b.n
    diff = b.mean - a.mean
    if va + vb == 0:
        return {"statistic": None, "p_value": None, "df": None, "diff": diff, "diff_ci": (diff, diff)}
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1))
    t = diff / se
    half = float(_st.t.ppf(1 - alpha / 2, df)) * se
    return {"statistic": t, "p_value": float(2 * _st.t.sf(abs(t), df)), "df": df, "diff": diff,
            "diff_ci": (diff - half, diff + half)}


def relative_lift(m1: float | None, v1: float | None, m2: float | None, v2: float | None,
                  alpha: float = 0.05) -> tuple[float | None, tuple[float, float] | None]:
    """m2 / m1 - 1 and its delta-method interval; v1, v2 are the variances of the two means (var / n)."""
    if m1 is None or m2 is None or m1 == 0:
        return None, None
    lift = m2 / m1 - 1
    if v1 is None or v2 is None:
        return lift, None
    se = math.sqrt(v2 / m1**2 + m2**2 * v1 / m1**4)
    half = _z(alpha) * se
    return lift, (lift - half, lift + half)


def minimum_detectable_effect(v1: float | None, v2: float | None, alpha: float = 0.05,
                              power: float = 0.8) -> float | None:
    """The smallest absolute difference this sample would detect with `power` (v1, v2: variances of the means)."""
    if v1 is None or v2 is None:
        return None
    return (_z(alpha) + float(_st.norm.ppf(power))) * math.sqrt(v1 + v2)


def srm_check(observed: list[int], weights: list[float], threshold: float = SRM_THRESHOLD) -> dict:
    """Chi-square goodness of fit of user counts per arm against the configured weights."""
    total = sum(observed)
    wsum = sum(weights)
    expected = [total * w / wsum for w in weights]
    if total == 0:
        return {"chi2": None, "df": len(observed) - 1, "p_value": None, "mismatch": False, "threshold": threshold,
                "expected": expected, "verdict": "no users exposed yet"}
    chi2 = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True) if e > 0)
    p = float(_st.chi2.sf(chi2, len(observed) - 1))
    mismatch = p < threshold
    verdict = (f"sample ratio mismatch (p = {p:.2g} < {threshold}): the split differs from the configured weights — "
               "check assignment and exposure logging before trusting any result" if mismatch else
               f"no sample ratio mismatch (p = {p:.2g} ≥ {threshold})")
    return {"chi2": chi2, "df": len(observed) - 1, "p_value": p, "mismatch": mismatch, "threshold": threshold,
            "expected": expected, "verdict": verdict}
