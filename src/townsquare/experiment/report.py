"""The A/B report: per arm and metric the users, the mean with its interval, and against the control (the first
arm) the difference, the relative lift with its interval and the p-value; a sample-ratio-mismatch check first."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Float, case, cast, func, select

from townsquare.experiment import stats
from townsquare.experiment.log import Experiment, require_experiment
from townsquare.store import Store
from townsquare.store.tables import ExposureRow, OutcomeRow

CAUTION = (
    "These p-values and intervals hold for one look at a sample size fixed in advance. Checking the report again "
    "and again and stopping once p < 0.05 (peeking) inflates the false-positive rate far above 5% — with daily looks "
    "over a few weeks it can pass 20%. Decide the sample size (see the minimum detectable effect) before starting and "
    "read the result once, or use a sequential method (alpha spending such as O'Brien-Fleming, or always-valid "
    "p-values). With several treatment arms or metrics, correct for multiple comparisons (e.g. Bonferroni)."
)


def _arm_counts(store: Store, exp: Experiment) -> dict[str, int]:
    e = ExposureRow.__table__.c
    q = select(e.arm, func.count()).where(e.experiment_id == exp.id).group_by(e.arm)
    with store.engine.connect() as conn:
        return {arm: int(n) for arm, n in conn.execute(q)}


def exposed_counts(store: Store) -> dict[int, int]:
    """Exposed users per experiment id (for listings)."""
    e = ExposureRow.__table__.c
    with store.engine.connect() as conn:
        return {int(i): int(n) for i, n in conn.execute(select(e.experiment_id, func.count()).group_by(e.experiment_id))}


def _event_sums(store: Store, exp: Experiment, event: str) -> dict[str, tuple[float, float, int]]:
    """Per arm: the sum and sum of squares of exposed users' totals, and how many users have a positive total."""
    e, o = ExposureRow.__table__.c, OutcomeRow.__table__.c
    per_user = (select(e.arm.label("arm"), func.sum(o.value).label("s"))
                .select_from(OutcomeRow.__table__.join(
                    ExposureRow.__table__, (e.experiment_id == o.experiment_id) & (e.user_id == o.user_id)))
                .where(o.experiment_id == exp.id, o.metric == event)
                .group_by(e.arm, o.user_id).subquery())
    s = cast(per_user.c.s, Float)
    q = (select(per_user.c.arm, func.sum(s), func.sum(s * s), func.sum(case((s > 0, 1), else_=0)))
         .group_by(per_user.c.arm))
    with store.engine.connect() as conn:
        return {arm: (float(t or 0), float(sq or 0), int(pos or 0)) for arm, t, sq, pos in conn.execute(q)}


def _r(x, digits: int = 6):
    """Round for JSON; tuples become lists."""
    if x is None:
        return None
    if isinstance(x, tuple | list):
        return [_r(v, digits) for v in x]
    return round(float(x), digits)


def _metric(exp: Experiment, metric: dict, n: dict[str, int], sums: dict, alpha: float) -> dict:
    rate = metric["kind"] == "rate"
    arms, per = [], {}
    for arm in exp.arms:
        total, squares, positive = sums.get(arm.name, (0.0, 0.0, 0))
        users = n.get(arm.name, 0)
        if rate:  # a user counts once: did they do it at all
            s = stats.Summary(users, positive, positive)
            ci = stats.wilson_interval(positive, users, alpha)
        else:
            s = stats.Summary(users, total, squares)
            ci = stats.mean_interval(s, alpha)
        per[arm.name] = s
        arms.append({"arm": arm.name, "n": users, "mean": _r(s.mean), "ci": _r(ci),
                     **({"successes": positive} if rate else {"sum": _r(total)})})
    control = exp.arms[0].name
    c = per[control]
    comparisons = []
    for arm in exp.arms[1:]:
        t = per[arm.name]
        test = (stats.two_proportion_ztest(int(c.total), c.n, int(t.total), t.n, alpha) if rate
                else stats.welch_ttest(c, t, alpha))
        vc = c.var / c.n if c.var is not None else None
        vt = t.var / t.n if t.var is not None else None
        lift, lift_ci = stats.relative_lift(c.mean, vc, t.mean, vt, alpha)
        mde = stats.minimum_detectable_effect(vc, vt, alpha)
        p = test["p_value"]
        comparisons.append({
            "arm": arm.name, "control": control, "diff": _r(test["diff"]), "diff_ci": _r(test["diff_ci"]),
            "lift": _r(lift), "lift_ci": _r(lift_ci), "statistic": _r(test["statistic"]), "p_value": _r(p, 8),
            "df": _r(test.get("df"), 1), "significant": bool(p is not None and p < alpha),
            "mde": _r(mde), "mde_relative": _r(mde / c.mean if mde is not None and c.mean else None),
        })
    return {"name": metric["name"], "kind": metric["kind"], "event": metric["event"],
            "test": "two-proportion z-test" if rate else "Welch's t-test", "arms": arms, "comparisons": comparisons}


def report(store: Store, name: str, alpha: float = 0.05) -> dict:
    """The experiment's report as plain data (what the CLI prints, the API returns and the dashboard shows)."""
    exp = require_experiment(store, name)
    n = _arm_counts(store, exp)
    observed = [n.get(a.name, 0) for a in exp.arms]
    srm = stats.srm_check(observed, [a.weight for a in exp.arms])
    total = sum(observed)
    arms = [{"name": a.name, "weight": _r(a.weight), "n": n.get(a.name, 0),
             "share": _r(n.get(a.name, 0) / total if total else None), "expected": _r(e, 1)}
            for a, e in zip(exp.arms, srm.pop("expected"), strict=True)]
    events: dict[str, dict] = {}
    metrics = []
    for m in exp.metrics:
        if m["event"] not in events:
            events[m["event"]] = _event_sums(store, exp, m["event"])
        metrics.append(_metric(exp, m, n, events[m["event"]], alpha))
    return {"experiment": exp.to_dict(), "alpha": alpha, "users": total, "arms": arms,
            "srm": {k: _r(v, 8) if isinstance(v, float) else v for k, v in srm.items()},
            "metrics": metrics, "caution": CAUTION,
            "generated_at": datetime.now(UTC).replace(tzinfo=None).isoformat() + "Z"}


def _pct(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{100 * x:+.{digits}f}%"


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:.4g}"


def render_text(rep: dict) -> str:
    """The report as plain text for a terminal: SRM verdict, per metric the arms and the comparisons, caution."""
    exp = rep["experiment"]
    lines = [f"experiment {exp['name']} ({exp['status']}): {rep['users']:,} user{'' if rep['users'] == 1 else 's'} exposed, alpha {rep['alpha']}"]
    if exp.get("description"):
        lines.append(exp["description"])
    if exp.get("meta", {}).get("simulated"):
        lines.append("SIMULATED: " + exp["meta"].get("note", "outcomes are simulated, not observed"))
    lines.append("arms: " + ", ".join(f"{a['name']} {a['n']:,} (expected {a['expected']:,.0f})" for a in rep["arms"]))
    lines.append("sample ratio: " + rep["srm"]["verdict"])
    for m in rep["metrics"]:
        lines.append("")
        lines.append(f"{m['name']} ({'share of users with any ' + m['event'] if m['kind'] == 'rate' else 'mean ' + m['event'] + ' per user'}; {m['test']})")
        for a in m["arms"]:
            ci = a["ci"]
            lines.append(f"  {a['arm']:<16} n={a['n']:<7,} mean={_num(a['mean'])}  "
                         f"{100 * (1 - rep['alpha']):.0f}% CI [{_num(ci[0]) if ci else '–'}, {_num(ci[1]) if ci else '–'}]")
        for c in m["comparisons"]:
            lc = c["lift_ci"]
            verdict = "significant" if c["significant"] else "not significant"
            lines.append(f"  {c['arm']} vs {c['control']}: diff {_num(c['diff'])}, lift {_pct(c['lift'])} "
                         f"[{_pct(lc[0]) if lc else '–'}, {_pct(lc[1]) if lc else '–'}], p = {_num(c['p_value'])} "
                         f"({verdict}); detectable with 80% power: {_num(c['mde'])}")
    lines += ["", "caution: " + rep["caution"]]
    return "\n".join(lines)
