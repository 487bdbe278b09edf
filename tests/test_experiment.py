"""A/B tests: hashed assignment, statistics checked against scipy, the report on real databases (SQLite and
PostgreSQL), the API and CLI, and the simulated ranked-vs-chronological test on a small sample world."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from scipy import stats as st

from tests import worlds
from tests.pg import fresh_postgres_database
from townsquare.errors import BadInput, NotFound
from townsquare.experiment import (
    CAUTION,
    Arm,
    assign,
    create_experiment,
    log_exposures,
    log_outcomes,
    report,
    set_status,
    unit_hash,
)
from townsquare.experiment import stats as S
from townsquare.store import Store
from townsquare.store.db import get_engine

world_store = worlds.world_store  # the small sample world, a module-scoped fixture

# ---- assignment -------------------------------------------------------------------------------------------------


def test_assignment_is_a_pure_function_of_name_and_user():
    digest = hashlib.sha256(b"feed-v2\x1f42").digest()
    assert unit_hash("feed-v2", 42) == int.from_bytes(digest[:8], "big") / 2.0**64
    arms = [Arm("control", 0.5), Arm("treatment", 0.5)]
    first = [assign("feed-v2", u, arms) for u in range(2_000)]
    assert first == [assign("feed-v2", u, arms) for u in range(2_000)]  # same inputs, same arm, no table needed
    assert assign("feed-v2", 42, arms) == ("control" if unit_hash("feed-v2", 42) < 0.5 else "treatment")
    # Another experiment's split is independent of this one (about half the users agree, not all or none).
    other = [assign("other-test", u, arms) for u in range(2_000)]
    agree = np.mean([a == b for a, b in zip(first, other, strict=True)])
    assert 0.45 < agree < 0.55


def test_assignment_follows_the_weights():
    arms = [Arm("a", 0.2), Arm("b", 0.3), Arm("c", 0.5)]
    got = [assign("weights", u, arms) for u in range(30_000)]
    counts = [got.count(n) for n in "abc"]
    # A fair hash passes the goodness-of-fit test; the SRM check must agree with scipy's.
    srm = S.srm_check(counts, [0.2, 0.3, 0.5])
    ref = st.chisquare(counts, [30_000 * w for w in (0.2, 0.3, 0.5)])
    assert srm["chi2"] == pytest.approx(ref.statistic) and srm["p_value"] == pytest.approx(ref.pvalue)
    assert not srm["mismatch"] and srm["p_value"] > 0.001


# ---- statistics against scipy -------------------------------------------------------------------------------------


def _summary(x: np.ndarray) -> S.Summary:
    return S.Summary(len(x), float(x.sum()), float((x * x).sum()))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_welch_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    a = rng.poisson(1.0, 500).astype(float)
    b = rng.poisson(1.15, 380).astype(float) * rng.choice([1, 3], 380)  # unequal sizes and variances
    got = S.welch_ttest(_summary(a), _summary(b))
    ref = st.ttest_ind(b, a, equal_var=False)
    assert got["statistic"] == pytest.approx(ref.statistic, rel=1e-9)
    assert got["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert got["df"] == pytest.approx(ref.df, rel=1e-9)
    lo, hi = ref.confidence_interval(0.95)
    assert got["diff_ci"] == pytest.approx((lo, hi), rel=1e-9)
    assert got["diff"] == pytest.approx(b.mean() - a.mean())
    ci = S.mean_interval(_summary(a))
    assert ci == pytest.approx(st.t.interval(0.95, len(a) - 1, loc=a.mean(), scale=st.sem(a)), rel=1e-9)


def test_welch_on_a_known_textbook_input():
    # Two small samples with a hand-checked answer: t ≈ 2.23, df ≈ 24.5, p ≈ 0.035.
    a = np.array([19.8, 20.4, 19.6, 17.8, 18.5, 18.9, 18.3, 18.9, 19.5, 22.0])
    b = np.array([28.2, 26.6, 20.1, 23.3, 25.2, 22.1, 17.7, 27.6, 20.6, 13.7, 23.2, 17.5, 20.6, 18.0, 23.9, 21.6,
                  24.3, 20.4, 23.9, 13.3])
    got = S.welch_ttest(_summary(a), _summary(b))
    ref = st.ttest_ind(b, a, equal_var=False)
    assert got["statistic"] == pytest.approx(ref.statistic, rel=1e-9) == pytest.approx(2.23, abs=0.01)
    assert got["p_value"] == pytest.approx(ref.pvalue, rel=1e-9) == pytest.approx(0.036, abs=0.002)
    assert got["df"] == pytest.approx(24.5, abs=0.1)


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), [(200, 1_000, 250, 1_000), (30, 400, 31, 700), (0, 50, 4, 60)])
def test_two_proportion_z_matches_scipy(x1, n1, x2, n2):
    got = S.two_proportion_ztest(x1, n1, x2, n2)
    # z² is the chi-square of the 2×2 table without continuity correction; the p-values are the same.
    chi2, p, _, _ = st.chi2_contingency([[x1, n1 - x1], [x2, n2 - x2]], correction=False)
    assert got["statistic"] ** 2 == pytest.approx(chi2, rel=1e-9)
    assert got["p_value"] == pytest.approx(p, rel=1e-9)
    assert np.sign(got["statistic"]) == np.sign(x2 / n2 - x1 / n1)
    lo, hi = S.wilson_interval(x1, n1)
    ref = st.binomtest(x1, n1).proportion_ci(0.95, method="wilson")
    assert (lo, hi) == pytest.approx((ref.low, ref.high), abs=1e-12)


def test_z_test_on_a_known_input():
    got = S.two_proportion_ztest(200, 1_000, 250, 1_000)
    assert got["statistic"] == pytest.approx(2.6774, abs=1e-4)  # 0.05 / sqrt(0.225 · 0.775 · 2/1000)
    assert got["p_value"] == pytest.approx(0.00742, abs=1e-5)
    assert got["diff"] == pytest.approx(0.05)


def test_undefined_statistics_are_none_not_nan():
    assert S.two_proportion_ztest(0, 0, 1, 10)["p_value"] is None
    assert S.welch_ttest(S.Summary(1, 1, 1), S.Summary(5, 5, 5))["p_value"] is None
    assert S.relative_lift(0.0, 0.1, 0.2, 0.1) == (None, None)
    assert S.srm_check([0, 0], [0.5, 0.5])["p_value"] is None


def test_lift_interval_covers_the_truth_about_95_percent_of_the_time():
    rng = np.random.default_rng(5)
    hits = 0
    for _ in range(400):
        a, b = rng.poisson(2.0, 400).astype(float), rng.poisson(2.4, 400).astype(float)
        sa, sb = _summary(a), _summary(b)
        _, (lo, hi) = S.relative_lift(sa.mean, sa.var / sa.n, sb.mean, sb.var / sb.n)
        hits += lo <= 0.2 <= hi
    assert 0.92 <= hits / 400 <= 0.98


# ---- the report on a real database --------------------------------------------------------------------------------


def _run_report_checks(store: Store) -> None:
    exp = create_experiment(store, "checkout-v2", [Arm("control", 0.5), Arm("treatment", 0.5)],
                            [{"name": "converted", "kind": "rate", "event": "purchase"},
                             {"name": "revenue", "kind": "mean", "event": "purchase"}])
    users = list(range(1, 4_001))
    arms = log_exposures(store, exp, users)
    log_exposures(store, exp, users[:100])  # a second exposure counts once per user
    rng = np.random.default_rng(11)
    value = {u: (rng.random() < (0.10 if arms[u] == "control" else 0.13)) * float(rng.integers(5, 50))
             for u in users}
    outcomes = [(u, "purchase", v / 2) for u, v in value.items() if v for _ in range(2)]  # two rows sum to v
    assert log_outcomes(store, exp, outcomes) == len(outcomes)
    rep = report(store, "checkout-v2")
    assert rep["users"] == 4_000 and rep["caution"] == CAUTION and "peeking" in rep["caution"]
    by_arm = {a: np.array([value[u] for u in users if arms[u] == a]) for a in ("control", "treatment")}
    assert [a["n"] for a in rep["arms"]] == [len(by_arm["control"]), len(by_arm["treatment"])]
    assert not rep["srm"]["mismatch"]
    conv, rev = rep["metrics"]
    assert conv["test"] == "two-proportion z-test" and rev["test"] == "Welch's t-test"
    for arm in conv["arms"]:
        assert arm["mean"] == pytest.approx((by_arm[arm["arm"]] > 0).mean(), abs=1e-6)
    c, t = by_arm["control"], by_arm["treatment"]
    chi2, p, _, _ = st.chi2_contingency([[(c > 0).sum(), (c == 0).sum()], [(t > 0).sum(), (t == 0).sum()]],
                                        correction=False)
    assert conv["comparisons"][0]["p_value"] == pytest.approx(p, rel=1e-5)
    ref = st.ttest_ind(t, c, equal_var=False)  # users without a purchase count as 0
    cmp = rev["comparisons"][0]
    assert cmp["p_value"] == pytest.approx(ref.pvalue, rel=1e-5)
    assert cmp["statistic"] == pytest.approx(ref.statistic, rel=1e-5)
    assert cmp["lift"] == pytest.approx(t.mean() / c.mean() - 1, abs=1e-6)
    assert cmp["lift_ci"][0] < cmp["lift"] < cmp["lift_ci"][1]
    assert rev["arms"][0]["mean"] == pytest.approx(c.mean(), abs=1e-6)

    # A broken logger that drops a third of the treatment's exposures shows up as a sample ratio mismatch.
    lopsided = create_experiment(store, "lopsided", metrics=[{"name": "engaged", "event": "engagement"}])
    keep = [u for u in users if lopsided.arm_of(u) == "control" or u % 3]
    log_exposures(store, lopsided, keep)
    srm = report(store, "lopsided")["srm"]
    assert srm["mismatch"] and "sample ratio mismatch" in srm["verdict"]


def test_report_numbers_on_sqlite(tmp_store):
    _run_report_checks(tmp_store)


def test_report_numbers_on_postgresql():
    with fresh_postgres_database() as url:
        _run_report_checks(Store(get_engine(url)))


def test_bad_input_is_named(tmp_store):
    with pytest.raises(BadInput, match="^name:"):
        create_experiment(tmp_store, "no spaces please")
    with pytest.raises(BadInput, match="^arms:.*at least two"):
        create_experiment(tmp_store, "one-arm", [Arm("only")])
    with pytest.raises(BadInput, match="^arms:.*repeat"):
        create_experiment(tmp_store, "twins", [Arm("a"), Arm("a")])
    create_experiment(tmp_store, "exp")
    with pytest.raises(BadInput, match="^name:.*exists"):
        create_experiment(tmp_store, "exp")
    with pytest.raises(BadInput, match="^event:.*not counted"):
        log_outcomes(tmp_store, "exp", [(1, "purchases", 1.0)])
    with pytest.raises(BadInput, match="^value:"):
        log_outcomes(tmp_store, "exp", [(1, "engagement", float("nan"))])
    with pytest.raises(BadInput, match="^user_id: 2 users \\(e.g. 1\\) were never exposed to 'exp'"):
        log_outcomes(tmp_store, "exp", [(1, "engagement", 1.0), (2, "engagement", 1.0)])
    set_status(tmp_store, "exp", "stopped")
    with pytest.raises(BadInput, match="stopped"):
        log_exposures(tmp_store, "exp", [1])
    with pytest.raises(NotFound):
        report(tmp_store, "nope")
    rep = report(tmp_store, "exp")  # no users yet: a report of empty arms, no NaN anywhere
    assert rep["users"] == 0 and rep["srm"]["p_value"] is None
    json.dumps(rep, allow_nan=False)


# ---- API and CLI ------------------------------------------------------------------------------------------------


def test_experiments_over_http(tmp_store, settings_env):
    from townsquare.api import create_app

    app = create_app(settings_env)
    h = {r: {"Authorization": f"Bearer {app.state.keys.create(r, r)[1]}"} for r in ("analyst", "agent")}
    with TestClient(app) as c:
        assert c.get("/experiments", headers=h["agent"]).status_code == 403
        r = c.post("/experiments", json={"name": "feed-v2", "arms": [{"name": "old"}, {"name": "new"}]},
                   headers=h["analyst"])
        assert r.status_code == 201, r.text
        assert c.post("/experiments", json={"name": "feed-v2"}, headers=h["analyst"]).status_code == 400
        arm = c.get("/experiments/feed-v2/assignment", params={"user_id": 7}, headers=h["analyst"]).json()["arm"]
        exp = c.post("/experiments/feed-v2/exposures", json={"user_ids": list(range(1, 201))}, headers=h["analyst"])
        assert exp.json()["arms"]["7"] == arm
        bad = c.post("/experiments/feed-v2/outcomes", json={"outcomes": [{"user_id": 1, "event": "sales"}]},
                     headers=h["analyst"])
        assert bad.status_code == 400 and bad.json()["error"].startswith("event:")
        unexposed = c.post("/experiments/feed-v2/outcomes", headers=h["analyst"],
                           json={"outcomes": [{"user_id": 5, "event": "engagement"},
                                              {"user_id": 999, "event": "engagement"}]})
        assert unexposed.status_code == 400, unexposed.text
        assert unexposed.json()["error"].startswith("user_id: user 999 was never exposed to 'feed-v2'")
        ok = c.post("/experiments/feed-v2/outcomes",
                    json={"outcomes": [{"user_id": u, "event": "engagement", "value": 1} for u in range(1, 60)]},
                    headers=h["analyst"])
        assert ok.json()["recorded"] == 59
        rep = c.get("/experiments/feed-v2/report", headers=h["analyst"]).json()
        assert rep["users"] == 200 and [a["name"] for a in rep["arms"]] == ["old", "new"]
        assert rep["metrics"][0]["arms"][0]["successes"] + rep["metrics"][0]["arms"][1]["successes"] == 59
        listed = c.get("/experiments", headers=h["analyst"]).json()["experiments"]
        assert listed[0]["name"] == "feed-v2" and listed[0]["users"] == 200
        missing = c.get("/experiments/nope/report", headers=h["analyst"])
        assert missing.status_code == 404 and "experiment list" in missing.json()["error"]
        assert c.get("/experiments/feed-v2/report", params={"alpha": 0.9}, headers=h["analyst"]).status_code == 422


def test_experiment_cli(run_cli):
    r = run_cli("experiment", "create", "cli-test", "--arms", "a:1,b:3")
    assert r.returncode == 0, r.stderr
    assert "a 25%" in r.stdout and "b 75%" in r.stdout
    r = run_cli("experiment", "assign", "cli-test", "1,2,3", "--log")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 3
    assert run_cli("experiment", "outcome", "cli-test", "2", "engagement").returncode == 0
    r = run_cli("experiment", "report", "cli-test", "--json")
    assert json.loads(r.stdout)["users"] == 3
    r = run_cli("experiment", "report", "cli-test")
    assert "sample ratio" in r.stdout and "caution:" in r.stdout
    r = run_cli("experiment", "create", "bad name")
    assert r.returncode == 1 and r.stderr.startswith("error: name:") and "Traceback" not in r.stderr
    assert "cli-test" in run_cli("experiment", "list").stdout
    assert "3 users exposed" in run_cli("experiment", "report", "cli-test").stdout


def test_experiment_cli_refuses_shares_that_do_not_sum_to_one_and_outcomes_of_unexposed_users(run_cli):
    r = run_cli("experiment", "create", "x1", "--arms", "control:0.7,treatment:0.5")
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("error: --arms: the weights sum to 1.2, not 1")
    assert run_cli("experiment", "create", "x1", "--arms", "control:0.7,treatment").returncode == 1
    r = run_cli("experiment", "create", "x1", "--arms", "a:0.1,b:0.2,c:0.7")  # float error is not a wrong sum
    assert r.returncode == 0 and "a 10%, b 20%, c 70%" in r.stdout, r.stderr
    r = run_cli("experiment", "outcome", "x1", "57", "engagement")
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("error: user_id: user 57 was never exposed to 'x1'") and "--log" in r.stderr
    assert run_cli("experiment", "assign", "x1", "57", "--log").returncode == 0
    r = run_cli("experiment", "outcome", "x1", "57", "engagement")
    assert r.returncode == 0 and "recorded" in r.stdout
    r = run_cli("experiment", "report", "x1")
    assert "1 user exposed" in r.stdout and "n=1" in r.stdout


# ---- the simulated test on a sample world ----------------------------------------------------------------------


def test_simulated_ranked_vs_chronological(world_store):
    from townsquare.experiment.simulate import simulate_feed_test
    from townsquare.world import WorldConfig

    store, cfg = world_store
    s = simulate_feed_test(store, cfg, name="sim", users=150, k=20, seed=3)
    assert s["users"] == 150 and s["simulated"] is True
    rep = report(store, "sim")
    assert rep["experiment"]["meta"]["simulated"] and "simulated" in rep["experiment"]["meta"]["note"]
    assert [a["name"] for a in rep["arms"]] == ["chronological", "ranked"] and rep["users"] == 150
    assert not rep["srm"]["mismatch"]
    engaged = rep["metrics"][0]
    assert engaged["name"] == "engaged" and all(0 < a["mean"] < 1 for a in engaged["arms"])
    assert engaged["comparisons"][0]["p_value"] is not None
    # Same seeds, same world: the same numbers (assignment by hash, reactions from seeded draws).
    simulate_feed_test(store, cfg, name="sim", users=150, k=20, seed=3)
    again = report(store, "sim")
    assert again["metrics"] == rep["metrics"] and again["arms"] == rep["arms"]
    with pytest.raises(BadInput, match="^world:"):  # another world's truths would grade the wrong posts
        simulate_feed_test(store, WorldConfig(seed=7, posts=5_000, authors=200, days=6), name="sim2", users=50)
    with pytest.raises(BadInput, match="^world:.*sampled posts match"):  # same size, another seed
        simulate_feed_test(store, WorldConfig(seed=8, posts=2_000, authors=200, days=6), name="sim2", users=50)


def test_simulate_over_http_names_a_world_mismatch(world_store):
    from townsquare.api import create_app
    from townsquare.config import get_settings

    app = create_app(get_settings())
    _, raw = app.state.keys.create("analyst", "sim")
    with TestClient(app) as c:  # no demo marker here, so the default world is asked for: not the one loaded
        r = c.post("/experiments/simulate/feed", json={"users": 20}, headers={"X-API-Key": raw})
        assert r.status_code == 400 and r.json()["error"].startswith("world:")
        assert c.post("/experiments/simulate/feed", json={"users": 5},
                      headers={"X-API-Key": raw}).status_code == 422


@pytest.mark.browser
def test_the_report_panel_in_a_real_browser(world_store, tmp_path):
    """The Recommend page's A/B panel (`renderExperiments`) against a live server with the simulated test."""
    import threading
    import time

    import uvicorn

    from tests.browser import Browser, _free_port, require_chromium
    from townsquare.api import create_app
    from townsquare.config import get_settings
    from townsquare.experiment.simulate import DEMO_NAME, simulate_feed_test

    require_chromium()
    store, cfg = world_store
    simulate_feed_test(store, cfg, users=120, k=20, seed=1)
    create_experiment(store, "second-test")
    app = create_app(get_settings())
    _, raw = app.state.keys.create("analyst", "browser")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        with Browser(tmp_path) as b:
            b.goto(f"http://127.0.0.1:{port}/#key={raw}")
            b.wait_for("document.getElementById('page').dataset.state === 'ready'")
            b.eval("""Promise.all([import('/static/pages/experiments.js'), import('/static/api.js')]).then(
                ([m, a]) => { const root = document.createElement('section'); root.id = 'ab-root';
                              document.getElementById('page').replaceChildren(root);
                              return m.renderExperiments(root, {api: a.api}); })""")
            b.wait_for("!!document.querySelector('#ab-report')")
            b.eval(f"document.getElementById('ab-pick').value = '{DEMO_NAME}';"
                   "document.getElementById('ab-pick').dispatchEvent(new Event('change'))")
            b.wait_for(f"!!document.querySelector('#ab-report[data-experiment=\"{DEMO_NAME}\"]')")
            text = b.text("#ab-report")
            assert "simulated outcomes" in text and "Outcomes are simulated" in text
            assert "Caution:" in text and "peeking" in text
            assert "sample ratio" in b.text("#ab-srm")
            assert b.eval("document.querySelectorAll('.ab-metric').length") == 3
            assert b.eval("document.querySelectorAll('.ab-metric[data-metric=engaged] tr[data-arm]').length") == 2
            lift = b.text(".ab-metric[data-metric=engagements] tr[data-arm=ranked] td.lift")
            rep = report(store, DEMO_NAME)
            assert lift == f"{'+' if rep['metrics'][1]['comparisons'][0]['lift'] >= 0 else ''}" \
                           f"{100 * rep['metrics'][1]['comparisons'][0]['lift']:.1f}%"
            assert not b.console_errors, b.console_errors
            b.screenshot(tmp_path / "ab.png")
    finally:
        server.should_exit = True
