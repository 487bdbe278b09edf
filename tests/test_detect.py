"""Detectors for Listen: one conformance suite over every detector, a real NAB spike, the NAB scorer, the CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from townsquare.errors import BadInput
from townsquare.listen.detect import DETECTORS, detect_series, get_detector

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks import nab  # noqa: E402

NAMES = ["default", *DETECTORS]
T0 = datetime(2024, 3, 1)


def _stamps(n: int, minutes: int = 5) -> list[datetime]:
    return [T0 + timedelta(minutes=minutes * i) for i in range(n)]


def _series(n: int = 900, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    daily = 10 * np.sin(np.arange(n) * 2 * np.pi / 288)
    x = 50 + daily + rng.normal(0, 1, n)
    if n > 700:
        x[700] += 60  # one clear spike
    return x


def _run(det, xs, stamps=None):
    stamps = stamps or _stamps(len(xs))
    return [det.score_one(t, float(v)) for t, v in zip(stamps, xs, strict=True)]


@pytest.mark.parametrize("name", NAMES)
def test_scores_in_unit_interval_and_deterministic(name):
    xs = _series()
    a, b = _run(get_detector(name), xs), _run(get_detector(name), xs)
    assert a == b
    assert all(0.0 <= s <= 1.0 for s in a)
    assert all(s == 0.0 for s in a[:150]), "warm-up points score 0"


@pytest.mark.parametrize("name", NAMES)
def test_no_look_ahead(name):
    xs = _series()
    full = _run(get_detector(name), xs)
    prefix = _run(get_detector(name), xs[:500])
    assert full[:500] == prefix


@pytest.mark.parametrize("name", NAMES)
def test_clear_spike_alerts(name):
    xs = _series()
    scores, alerts = detect_series(_stamps(len(xs)), xs, name)
    assert alerts[700] == 1, f"{name} missed a 60-sigma spike (score {scores[700]:.3f})"
    assert scores[700] == max(scores[600:])


@pytest.mark.parametrize("name", NAMES)
def test_constant_nan_and_huge_values(name):
    det = get_detector(name)
    flat = _run(det, [5.0] * 400)
    assert all(s == 0.0 for s in flat), "a constant series is not anomalous"
    assert not det.alert
    assert det.score_one(T0 + timedelta(days=3), math.nan) == 0.0 and not det.alert
    big = det.score_one(T0 + timedelta(days=3, minutes=5), 1e300)
    assert 0.0 <= big <= 1.0 and big >= det.threshold
    after = det.score_one(T0 + timedelta(days=3, minutes=10), -1e300)
    assert 0.0 <= after <= 1.0
    assert det.score_one(T0 + timedelta(days=3, minutes=15), math.inf) == 0.0


@pytest.mark.parametrize("name", NAMES)
def test_state_round_trip(name):
    xs = _series()
    whole = _run(get_detector(name), xs)
    first = get_detector(name)
    part = _run(first, xs[:450])
    state = json.loads(json.dumps(first.to_state()))  # must survive JSON (it is stored in the database)
    resumed = get_detector(name)
    resumed.from_state(state)
    part += [resumed.score_one(t, float(v)) for t, v in zip(_stamps(len(xs))[450:], xs[450:], strict=True)]
    assert part == whole
    assert len(json.dumps(state)) < 40_000


@pytest.mark.parametrize("name", NAMES)
def test_holdoff_limits_alert_bursts(name):
    xs = _series()
    xs[710:760] += 200  # a lasting shift right after the spike is one incident
    _, alerts = detect_series(_stamps(len(xs)), xs, name)
    assert alerts[700:760].sum() <= 2


def test_unknown_detector_and_bad_params():
    with pytest.raises(BadInput, match="unknown detector"):
        get_detector("nope")
    with pytest.raises(BadInput, match="bad parameters"):
        get_detector("novelty", channels="wat")
    with pytest.raises(BadInput, match="bad parameters"):
        get_detector("novelty", colour="red")
    with pytest.raises(BadInput, match="bad parameters"):
        get_detector("blend", rare="wat")


def test_threshold_param_is_the_alert_rule():
    xs = _series()
    lax, strict = get_detector("default", threshold=0.05), get_detector("default", threshold=0.999)
    _run(lax, xs), _run(strict, xs)
    _, a_lax = detect_series(_stamps(len(xs)), xs, "default", threshold=0.05)
    _, a_strict = detect_series(_stamps(len(xs)), xs, "default", threshold=0.999)
    assert a_lax.sum() >= a_strict.sum()
    assert lax.threshold == 0.05


# -- blend (the default): the likelihood view ------------------------------------------------------------------
def test_blend_catches_rare_values_inside_the_range():
    """A run of values the series never takes, inside its usual range: range novelty cannot see it, blend must."""
    rng = np.random.default_rng(5)
    n = 2400
    xs = np.where(rng.random(n) < 0.5, 0.0, 10.0) + rng.normal(0, 0.3, n)  # two levels, switching at random
    xs[2000:2040] = 5 + rng.normal(0, 0.3, 40)
    _, blend = detect_series(_stamps(n), xs, "blend")
    _, novelty = detect_series(_stamps(n), xs, "novelty")
    assert blend[2000:2040].any() and not novelty[2000:2040].any()
    assert (blend[:2000] == novelty[:2000]).all(), "the likelihood view added alerts on ordinary data"


def test_blend_likelihood_silent_on_iid_heavy_tails():
    """Lognormal noise has frequent big values; the likelihood view must not fire on them (it adds no alerts)."""
    xs = np.random.default_rng(8).lognormal(0, 1, 4000)
    det = get_detector("blend")
    for t, v in zip(_stamps(len(xs)), xs, strict=True):
        det.score_one(t, float(v))
        assert max(lik.mean for lik in det.lik.values()) < 0.1
    _, blend = detect_series(_stamps(len(xs)), xs, "blend")
    _, novelty = detect_series(_stamps(len(xs)), xs, "novelty")
    assert (blend == novelty).all()


def test_anomaly_likelihood_needs_a_run_on_a_quiet_history():
    from townsquare.listen.detect.blend import AnomalyLikelihood

    lik = AnomalyLikelihood(short=20, long=4000)
    assert max(lik.update(0.0) for _ in range(500)) == 0.0
    assert lik.update(1.0) < 5.0  # one rare point is not enough ...
    assert max(lik.update(1.0) for _ in range(4)) > 5.0  # ... a run of them is


def test_state_of_another_detector_is_ignored():
    xs = _series()
    old = get_detector("novelty")
    _run(old, xs[:450])
    det = get_detector("blend")
    det.from_state(json.loads(json.dumps(old.to_state())))
    assert det.n == 0 and det.to_state() == get_detector("blend").to_state()


# -- real data ----------------------------------------------------------------------------------------------
needs_nab = pytest.mark.skipif(not (nab.NAB_DIR / "labels/combined_windows_dev.json").exists(),
                               reason=f"NAB data not found under {nab.NAB_DIR} (set TOWNSQUARE_NAB_DIR)")


@needs_nab
def test_real_spike_alerted_in_its_window():
    """ec2_network_in_257a54: one huge spike, labelled; the default detector must alert inside that window only."""
    rel = "realAWSCloudwatch/ec2_network_in_257a54.csv"
    corpus = nab.load_corpus(include=lambda r: r == rel)
    stamps, values, layout = corpus[rel]
    _, alerts = detect_series(stamps, values)
    scored = layout.window != -2
    assert alerts[(layout.window == 0)].any()
    assert alerts[scored & (layout.window == -1)].sum() <= 2
    assert nab.score_file(layout, alerts > 0) > 0.5


@needs_nab
def test_scorer_null_is_0_and_perfect_is_100():
    corpus = nab.load_corpus()
    layouts = {r: lay for r, (_, _, lay) in corpus.items()}
    assert len(layouts) == 48 and sum(lay.n_windows for lay in layouts.values()) == 83
    for profile in nab.PROFILES:
        null = {r: np.zeros(lay.n, bool) for r, lay in layouts.items()}
        assert nab.score_corpus(layouts, null, profile)[0] == pytest.approx(0.0)
        perfect = {}
        for r, lay in layouts.items():
            d = np.zeros(lay.n, bool)
            for k in lay.scored_windows:
                d[np.flatnonzero(lay.window == k)[0]] = True  # the first row of each window
            perfect[r] = d
        assert nab.score_corpus(layouts, perfect, profile)[0] == pytest.approx(100.0)
        assert nab.sweep_threshold(layouts, {r: d.astype(float) for r, d in perfect.items()}, profile)[1] \
            == pytest.approx(100.0)
        # firing at every row: every window found at its start, every other row a false positive
        always = {r: np.ones(lay.n, bool) for r, lay in layouts.items()}
        assert nab.score_corpus(layouts, always, profile)[0] < 0


@needs_nab
def test_scorer_late_detection_and_fp_rules():
    """Hand-checked NAB rules on one file: later in the window is worth less; an FP right after a window is cheap."""
    rel = "realAWSCloudwatch/ec2_network_in_257a54.csv"
    _, _, lay = nab.load_corpus(include=lambda r: r == rel)[rel]
    rows = np.flatnonzero(lay.window == 0)
    left, right = rows[0], rows[-1]

    def one(i):
        d = np.zeros(lay.n, bool)
        d[i] = True
        return nab.score_file(lay, d)

    assert one(left) == pytest.approx(1.0)
    assert one(left) > one((left + right) // 2) > one(right) > 0
    assert one(right) == pytest.approx(nab._sigmoid_scaled(-1 / len(rows)) / nab.MAX_TP)
    # an FP: -1 (missed window) plus a penalty that grows with the distance after the window
    assert -1.0 > one(right + 1) > -1.0 - 0.11 * 0.1
    assert one(lay.n - 1) == pytest.approx(-1.0 - 0.11 * -nab._sigmoid_scaled((lay.n - 1 - right) / (len(rows) - 1)))
    assert one(lay.n - 1) < one(right + 50)


# -- CLI ----------------------------------------------------------------------------------------------------
CLI = "import sys, townsquare.cli as c, townsquare.cli.detect; sys.argv = ['townsquare', *sys.argv[1:]]; c.main()"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CLI, "detect", *args], capture_output=True, text=True, timeout=120)


def test_cli_scores_a_file(tmp_path):
    xs = _series(600)
    src = tmp_path / "series.csv"
    src.write_text("timestamp,value\n" + "".join(f"{t:%Y-%m-%d %H:%M:%S},{v}\n" for t, v in zip(_stamps(600), xs,
                                                                                               strict=True)))
    dst = tmp_path / "out" / "scores.csv"
    r = _cli("--input", str(src), "--output", str(dst))
    assert r.returncode == 0, r.stderr
    lines = dst.read_text().splitlines()
    assert lines[0] == "timestamp,value,anomaly_score,alert" and len(lines) == 601
    rows = [line.split(",") for line in lines[1:]]
    scores = np.array([float(row[2]) for row in rows])
    expected, alerts = detect_series(_stamps(600), xs)
    assert np.allclose(scores, expected, atol=1e-6)
    assert [int(row[3]) for row in rows] == alerts.tolist()
    assert "alerts" in r.stderr


def test_cli_iso_timestamps_and_threshold(tmp_path):
    src = tmp_path / "iso.csv"
    src.write_text("value,timestamp\n" + "".join(f"{v},{t:%Y-%m-%dT%H:%M:%S}Z\n"
                                                 for t, v in zip(_stamps(300), _series(300), strict=True)))
    r = _cli("-i", str(src), "-o", str(tmp_path / "o.csv"), "--threshold", "0.9", "--detector", "gaussian")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize(("content", "needle"), [
    ("time,value\n2020-01-01 00:00:00,1\n", "no timestamp column"),
    ("timestamp,count\n2020-01-01 00:00:00,1\n", "no value column"),
    ("timestamp,value\n2020-01-01 00:00:00,1\nyesterday,2\n", "line 3"),
    ("timestamp,value\n2020-01-01 00:00:00,1\n2020-01-01 00:05:00,lots\n", "not a number"),
    ("timestamp,value\n2020-01-01 00:05:00,1\n2020-01-01 00:00:00,2\n", "earlier than the line before"),
    ("", "is empty"),
    ("timestamp,value\n", "no rows"),
])
def test_cli_bad_input_is_one_line(tmp_path, content, needle):
    src = tmp_path / "bad.csv"
    src.write_text(content)
    r = _cli("--input", str(src), "--output", str(tmp_path / "o.csv"))
    assert r.returncode == 1
    assert needle in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_cli_missing_file_and_bad_threshold(tmp_path):
    r = _cli("--input", str(tmp_path / "nope.csv"), "--output", str(tmp_path / "o.csv"))
    assert r.returncode == 1 and "does not exist" in r.stderr
    src = tmp_path / "ok.csv"
    src.write_text("timestamp,value\n2020-01-01 00:00:00,1\n")
    r = _cli("--input", str(src), "--output", str(tmp_path / "o.csv"), "--threshold", "3")
    assert r.returncode == 1 and "--threshold" in r.stderr
