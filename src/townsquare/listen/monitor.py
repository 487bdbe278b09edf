"""Scoring closed buckets per watch and raising alerts.

A bucket is closed once the stream's watermark (the newest post time seen) is past its end plus `LATENESS`; each
closed bucket is scored exactly once, in time order, by the watch's detector for each metric (volume, negative
volume). The detector's state lives in `detector_states`, updated in the same transaction as the alerts, under a
row lock on PostgreSQL — so whichever consumer gets there first scores a bucket, and none scores it twice.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from townsquare.listen.aggregate import bucket_start
from townsquare.listen.watches import Watch, list_watches
from townsquare.store import Store
from townsquare.store.tables import AlertRow, DetectorStateRow, StreamStateRow, WatchBucketRow

# negative first: a volume jump in the same bucket then joins the negative alert instead of raising its own
METRICS = ("negative", "volume")
LATENESS = timedelta(minutes=2)  # posts may arrive this late and still count in the bucket's score
DETECTOR = "default"
BASELINE = 24  # buckets behind an alert that define "normal" for the explanation


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _detector(watch: Watch, state: dict | None):
    from townsquare.listen.detect import get_detector

    params = {"threshold": watch.sensitivity} if watch.sensitivity is not None else {}
    det = get_detector(state.get("name", DETECTOR) if state else DETECTOR, **params)
    if state and state.get("detector"):
        det.from_state(_unjson(state["detector"]))
    return det


def advance(store: Store, *, on_alert: Callable[[int], None] | None = None, explain: bool = True) -> list[int]:
    """Score every bucket that closed since the last call, for every watch and metric; return new alert ids."""
    with store.engine.connect() as conn:
        mark = conn.execute(select(StreamStateRow.__table__.c.at)
                            .where(StreamStateRow.__table__.c.key == "watermark")).scalar()
    if mark is None:
        return []
    raised: list[int] = []
    for watch in list_watches(store):
        closed_before = bucket_start(mark - LATENESS, watch.minutes)  # buckets starting earlier are closed
        for metric in METRICS:
            raised += _advance_one(store, watch, metric, closed_before)
    if explain and raised:
        from townsquare.listen.explain import explain_alert

        for alert_id in raised:
            try:
                explain_alert(store, alert_id)
            except Exception as exc:  # noqa: BLE001 - the alert stands even if its explanation failed
                _store_explanation(store, alert_id, {"error": f"explanation failed: {type(exc).__name__}: {exc}"})
    if on_alert:
        for alert_id in raised:
            on_alert(alert_id)
    return raised


def _advance_one(store: Store, watch: Watch, metric: str, closed_before: datetime) -> list[int]:
    s, b = DetectorStateRow.__table__, WatchBucketRow.__table__
    step = timedelta(minutes=watch.minutes)
    raised: list[int] = []
    with store.engine.begin() as conn:
        q = select(s).where(s.c.watch_id == watch.id, s.c.metric == metric)
        if store.engine.dialect.name != "sqlite":
            q = q.with_for_update()
        row = conn.execute(q).first()
        if row is not None and row.minutes != watch.minutes:
            row = None  # the watch's bucket size changed: start again
        last = row.last_start if row is not None else None
        if last is not None and last + step >= closed_before:
            return []
        first_bucket = conn.execute(select(b.c.start).where(b.c.watch_id == watch.id, b.c.minutes == watch.minutes)
                                    .order_by(b.c.start).limit(1)).scalar()
        if first_bucket is None:
            return []
        start = last + step if last is not None else first_bucket
        if start >= closed_before:
            return []
        values = dict(conn.execute(select(b.c.start, b.c[metric]).where(
            b.c.watch_id == watch.id, b.c.minutes == watch.minutes, b.c.start >= start,
            b.c.start < closed_before)).all())
        det = _detector(watch, row.state if row is not None else None)
        history = list((row.state or {}).get("recent", [])) if row is not None else []
        at = start
        while at < closed_before:
            value = float(values.get(at, 0))
            # The detector's score with its threshold; its own hold-off is replaced by the count test and the
            # quiet rule below, which only count alerts that were raised (a blocked jump must not mute a crisis).
            score = det.score_one(at, value)
            fired = score >= det.threshold
            expected = _median(history) if history else 0.0
            blocking = _recent_alert(conn, watch, metric, at, step) if fired else None
            if fired and significant_count(value, history) and blocking is None:
                alert = AlertRow.__table__.insert().values(
                    watch_id=watch.id, metric=metric, minutes=watch.minutes, bucket_start=at, value=value,
                    expected=expected, score=float(score), created_at=_now(), explanation={},
                    webhook_status="pending" if watch.webhook_url else "none",
                    webhook_next_at=_now() if watch.webhook_url else None, webhook_error="")
                raised.append(conn.execute(alert.returning(AlertRow.__table__.c.id)).scalar())
            elif fired and blocking is not None and blocking.metric != metric and blocking.bucket_start == at:
                _join(conn, blocking, {"metric": metric, "value": value, "expected": expected, "score": float(score)})
            history = (history + [value])[-BASELINE:]
            at += step
        state = {"name": DETECTOR, "detector": _jsonable(det.to_state()), "recent": history}
        values_ = dict(watch_id=watch.id, metric=metric, minutes=watch.minutes, last_start=at - step, state=state)
        stmt = store.insert(s).values(**values_)
        conn.execute(stmt.on_conflict_do_update(index_elements=["watch_id", "metric"],
                                                set_={k: stmt.excluded[k] for k in ("minutes", "last_start",
                                                                                    "state")}))
    return raised


QUIET_BUCKETS = 6  # one alert per watch and metric per this many buckets: a burst is one incident
# Which alerts keep a metric quiet. A jump in volume during a negative incident is the same incident; a turn to
# negative during a burst of volume (a launch, a match) is news, so only an earlier negative alert mutes it.
QUIETED_BY = {"negative": ("negative",), "volume": ("negative", "volume")}


def _recent_alert(conn, watch: Watch, metric: str, at: datetime, step: timedelta):
    """The alert that keeps ``metric`` quiet at ``at`` (None: it may alert), newest first."""
    a = AlertRow.__table__.c
    return conn.execute(select(a.id, a.metric, a.bucket_start, a.explanation).where(
        a.watch_id == watch.id, a.metric.in_(QUIETED_BY[metric]), a.bucket_start > at - QUIET_BUCKETS * step,
        a.bucket_start <= at).order_by(a.bucket_start.desc()).limit(1)).first()


def _join(conn, alert, other: dict) -> None:
    """Record another metric that fired in the alert's own bucket (``explanation["also"]``): one alert, not two."""
    a = AlertRow.__table__.c
    explanation = dict(alert.explanation or {})
    explanation["also"] = [*explanation.get("also", []), other]
    conn.execute(AlertRow.__table__.update().where(a.id == alert.id).values(explanation=explanation))


def _store_explanation(store: Store, alert_id: int, explanation: dict) -> None:
    t = AlertRow.__table__
    with store.engine.begin() as conn:
        conn.execute(t.update().where(t.c.id == alert_id).values(explanation=explanation))


def _jsonable(value):
    """Detector state as strict JSON (PostgreSQL's json type has no Infinity/NaN): non-finite floats become
    the strings "inf", "-inf", "nan"; deques and tuples become lists."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, deque)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def _unjson(value):
    if isinstance(value, dict):
        return {k: _unjson(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unjson(v) for v in value]
    if value in ("inf", "-inf", "nan"):
        return float(value)
    return value


COUNT_P = 1e-3  # a bucket's count must also be this unlikely under a Poisson rate of the recent mean
LAMBDA_FLOOR = 0.1  # posts per bucket assumed at least: 3 posts in a quiet bucket is news, 1 or 2 is not


def significant_count(value: float, history: list[float]) -> bool:
    """Counts are small numbers: 1 or 2 posts after a run of zeros is a jump for a detector but not news. Require
    the count to be improbable under a Poisson rate of the last buckets' mean (at least LAMBDA_FLOOR)."""
    lam = max(sum(history) / len(history), LAMBDA_FLOOR) if history else LAMBDA_FLOOR
    k = int(value)
    if k <= lam:
        return False
    term = cdf = math.exp(-lam)
    for i in range(1, k):
        term *= lam / i
        cdf += term
    return 1.0 - cdf < COUNT_P


def _median(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    return float(s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2)


def list_alerts(store: Store, watch_id: int | None = None, *, after_id: int = 0, limit: int = 50) -> list[dict]:
    a = AlertRow.__table__.c
    q = select(AlertRow.__table__).where(a.id > after_id)
    if watch_id is not None:
        q = q.where(a.watch_id == watch_id)
    q = q.order_by(a.id.desc() if not after_id else a.id).limit(limit)
    with store.engine.connect() as conn:
        return [alert_dict(r) for r in conn.execute(q)]


def explained(alert: dict) -> bool:
    """Whether the alert's explanation is written (or failed): before that it holds at most the joined metrics."""
    return "summary" in alert["explanation"] or "error" in alert["explanation"]


def get_alert(store: Store, alert_id: int) -> dict | None:
    with store.engine.connect() as conn:
        r = conn.execute(select(AlertRow.__table__).where(AlertRow.__table__.c.id == alert_id)).first()
    return alert_dict(r) if r else None


def alert_dict(r) -> dict:
    def iso(t):
        return t.isoformat() + "Z" if t else None

    return {"id": r.id, "watch_id": r.watch_id, "metric": r.metric, "minutes": r.minutes,
            "bucket_start": iso(r.bucket_start), "value": r.value, "expected": r.expected,
            "score": round(r.score, 4), "created_at": iso(r.created_at), "explanation": r.explanation or {},
            "webhook": {"status": r.webhook_status, "attempts": r.webhook_attempts, "error": r.webhook_error}}
