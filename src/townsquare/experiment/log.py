"""Experiments in the store: create, list, stop, delete; log exposures (who saw their arm) and outcomes.

The unit of analysis is the user. An exposure row per user records the arm (computed by hashing, never chosen by
the caller) and how often they were exposed; outcomes are events with a value (e.g. one engagement). A metric is an
event summed per exposed user, reported as a rate (share of users with any) or a mean (average amount per user).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete, select, update

from townsquare.errors import BadInput, NotFound
from townsquare.experiment.assign import NAME, Arm, assign, check_arms
from townsquare.store import Store
from townsquare.store.repository import utc_naive
from townsquare.store.tables import ExperimentRow, ExposureRow, OutcomeRow

KINDS = ("rate", "mean")
DEFAULT_ARMS = (Arm("control", 0.5), Arm("treatment", 0.5))
DEFAULT_METRICS = ({"name": "engaged", "kind": "rate", "event": "engagement"},
                   {"name": "engagements", "kind": "mean", "event": "engagement"})
_CHUNK = 2_000


@dataclass
class Experiment:
    id: int
    name: str
    arms: list[Arm]
    metrics: list[dict]
    description: str = ""
    status: str = "running"
    meta: dict = field(default_factory=dict)
    created_at: datetime | None = None

    def arm_of(self, user_id: int | str) -> str:
        return assign(self.name, user_id, self.arms)

    @property
    def events(self) -> set[str]:
        return {m["event"] for m in self.metrics}

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "description": self.description, "status": self.status,
                "arms": [a.to_dict() for a in self.arms], "metrics": self.metrics, "meta": self.meta,
                "created_at": self.created_at.isoformat() + "Z" if self.created_at else None}


def _now(at: datetime | None = None) -> datetime:
    return utc_naive(at) if at is not None else datetime.now(UTC).replace(tzinfo=None)


def check_metrics(metrics: Sequence[dict]) -> list[dict]:
    out = []
    for m in metrics:
        name, kind = str(m.get("name", "")), str(m.get("kind", "rate"))
        event = str(m.get("event") or name)
        if not NAME.match(name) or not NAME.match(event):
            raise BadInput("metrics", f"metric {name!r} (event {event!r}) is not a plain name",
                           "use letters, digits, '-', '_' or '.'")
        if kind not in KINDS:
            raise BadInput("metrics", f"metric {name!r} has kind {kind!r}", "use rate (share of users) or mean")
        out.append({"name": name, "kind": kind, "event": event})
    if not out:
        raise BadInput("metrics", "no metric given", 'give at least one, e.g. {"name": "engaged", "kind": "rate"}')
    if len({m["name"] for m in out}) != len(out):
        raise BadInput("metrics", "metric names repeat", "give every metric its own name")
    return out


def _from_row(r) -> Experiment:
    return Experiment(id=r.id, name=r.name, arms=[Arm(a["name"], float(a["weight"])) for a in r.arms],
                      metrics=list(r.metrics), description=r.description, status=r.status, meta=dict(r.meta or {}),
                      created_at=r.created_at)


def create_experiment(store: Store, name: str, arms: Sequence[Arm | dict] = DEFAULT_ARMS,
                      metrics: Sequence[dict] = DEFAULT_METRICS, *, description: str = "", meta: dict | None = None,
                      replace: bool = False) -> Experiment:
    """A new running experiment. An existing name is an error unless `replace` (which drops its logs)."""
    if not NAME.match(name or ""):
        raise BadInput("name", f"{name!r} is not a plain name",
                       "use letters, digits, '-', '_' or '.', e.g. feed-ranker-v2")
    arm_list, metric_list = check_arms(arms), check_metrics(metrics)
    if get_experiment(store, name) is not None:
        if not replace:
            raise BadInput("name", f"experiment {name!r} exists",
                           "pick another name, or delete it first (its exposures and outcomes go with it)")
        delete_experiment(store, name)
    t = ExperimentRow.__table__
    with store.engine.begin() as conn:
        conn.execute(t.insert().values(name=name, description=description, arms=[a.to_dict() for a in arm_list],
                                       metrics=metric_list, status="running", meta=meta or {}, created_at=_now()))
    return get_experiment(store, name)


def get_experiment(store: Store, name: str) -> Experiment | None:
    t = ExperimentRow.__table__
    with store.engine.connect() as conn:
        r = conn.execute(select(t).where(t.c.name == name)).first()
    return _from_row(r) if r else None


def require_experiment(store: Store, name: str) -> Experiment:
    exp = get_experiment(store, name)
    if exp is None:
        raise NotFound(f"experiment: no experiment named {name!r} — list them with `townsquare experiment list` "
                       "or GET /experiments")
    return exp


def list_experiments(store: Store) -> list[Experiment]:
    t = ExperimentRow.__table__
    with store.engine.connect() as conn:
        return [_from_row(r) for r in conn.execute(select(t).order_by(t.c.created_at.desc(), t.c.id.desc()))]


def set_status(store: Store, name: str, status: str) -> Experiment:
    if status not in ("running", "stopped"):
        raise BadInput("status", f"{status!r} is not a status", "use running or stopped")
    exp = require_experiment(store, name)
    with store.engine.begin() as conn:
        conn.execute(update(ExperimentRow).where(ExperimentRow.id == exp.id).values(status=status))
    return require_experiment(store, name)


def delete_experiment(store: Store, name: str) -> bool:
    exp = get_experiment(store, name)
    if exp is None:
        return False
    with store.engine.begin() as conn:  # explicit: SQLite enforces ON DELETE CASCADE only with foreign_keys on
        conn.execute(delete(OutcomeRow).where(OutcomeRow.experiment_id == exp.id))
        conn.execute(delete(ExposureRow).where(ExposureRow.experiment_id == exp.id))
        conn.execute(delete(ExperimentRow).where(ExperimentRow.id == exp.id))
    return True


def log_exposures(store: Store, exp: Experiment | str, user_ids: Iterable[int], at: datetime | None = None
                  ) -> dict[int, str]:
    """Record that these users were shown their arm (now or `at`); returns each user's arm."""
    exp = require_experiment(store, exp) if isinstance(exp, str) else exp
    if exp.status != "running":
        raise BadInput("experiment", f"{exp.name!r} is stopped", "start it again before logging exposures")
    when = _now(at)
    arms = {int(u): exp.arm_of(int(u)) for u in user_ids}
    rows = [{"experiment_id": exp.id, "user_id": u, "arm": a, "first_at": when, "last_at": when, "exposures": 1}
            for u, a in arms.items()]
    t = ExposureRow.__table__
    with store.engine.begin() as conn:
        for i in range(0, len(rows), _CHUNK):
            stmt = store.insert(t)
            stmt = stmt.on_conflict_do_update(
                index_elements=["experiment_id", "user_id"],
                set_={"last_at": stmt.excluded.last_at, "exposures": t.c.exposures + 1})
            conn.execute(stmt, rows[i:i + _CHUNK])
    return arms


def _check_exposed(conn, exp: Experiment, users: set[int]) -> None:
    """The report counts outcomes of exposed users only: an outcome of anyone else would be kept and ignored."""
    t = ExposureRow.__table__
    ids, exposed = sorted(users), set()
    for i in range(0, len(ids), _CHUNK):
        exposed.update(conn.execute(select(t.c.user_id).where(
            t.c.experiment_id == exp.id, t.c.user_id.in_(ids[i:i + _CHUNK]))).scalars())
    missing = [u for u in ids if u not in exposed]
    if missing:
        who = f"user {missing[0]} was" if len(missing) == 1 else f"{len(missing):,} users (e.g. {missing[0]}) were"
        raise BadInput("user_id", f"{who} never exposed to {exp.name!r}, so the report would ignore the outcome",
                       f"log the exposure first (`townsquare experiment assign {exp.name} USERS --log`, or POST "
                       f"/experiments/{exp.name}/exposures)")


def log_outcomes(store: Store, exp: Experiment | str, outcomes: Iterable[tuple[int, str, float]],
                 at: datetime | None = None) -> int:
    """Record (user id, event, value) outcomes of exposed users; events must be ones the experiment's metrics
    count. Nothing is recorded when a user was never exposed (BadInput)."""
    exp = require_experiment(store, exp) if isinstance(exp, str) else exp
    when = _now(at)
    rows = []
    for user_id, event, value in outcomes:
        if event not in exp.events:
            raise BadInput("event", f"{event!r} is not counted by experiment {exp.name!r}",
                           f"log one of {', '.join(sorted(exp.events))}")
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise BadInput("value", f"{value} is not a number", "log a finite number, e.g. 1")
        rows.append({"experiment_id": exp.id, "user_id": int(user_id), "metric": event, "value": value,
                     "created_at": when})
    with store.engine.begin() as conn:
        _check_exposed(conn, exp, {r["user_id"] for r in rows})
        for i in range(0, len(rows), _CHUNK):
            conn.execute(OutcomeRow.__table__.insert(), rows[i:i + _CHUNK])
    return len(rows)
