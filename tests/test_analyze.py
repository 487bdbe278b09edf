"""`townsquare analyze` over files and the store, and `POST /analyze`: every line answered, in order, never a crash."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from townsquare.api.app import create_app
from townsquare.schema import Post
from townsquare.store.tables import AnalysisRow, EmbeddingRow
from townsquare.understand.batch import analyze_store

FIELDS = {"id", "lang", "sentiment", "emotion", "offensive", "hate", "irony", "crisis_informative", "toxicity", "pii"}


def test_every_input_line_gets_one_output_line_in_order(tmp_path, run_cli):
    lines = [
        orjson.dumps({"id": "en", "text": "I absolutely love this phone, best purchase this year!"}),
        orjson.dumps({"id": "zh", "text": "这家酒店太差了，房间又脏又吵，再也不来了"}),
        orjson.dumps({"id": "mixed", "text": "我今天买了iPhone 15 Pro真的很好用 #Apple"}),
        orjson.dumps({"id": "empty", "text": ""}),
        orjson.dumps({"id": "emoji", "text": "😍😍😍🔥"}),
        orjson.dumps({"id": "long", "text": "so good " * 6_250}),  # 50,000 characters
        b'{"id": "bad-utf8", "text": "caf\xe9 \xff\xfe great"}',
        b"{not json",
        b"",
        orjson.dumps({"id": "no-text"}),
        orjson.dumps({"id": 7, "text": ["not", "a", "string"]}),
        orjson.dumps(["not", "an", "object"]),
        orjson.dumps({"id": "pii", "text": "email me at jane.doe@example.com or call 13812345678"}),
    ]
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    done = run_cli("analyze", "--input", str(src), "--output", str(dst), timeout=180)
    assert done.returncode == 0, done.stderr
    out = [orjson.loads(x) for x in dst.read_bytes().splitlines()]
    assert len(out) == len(lines)
    assert [o["id"] for o in out[:7]] == ["en", "zh", "mixed", "empty", "emoji", "long", "bad-utf8"]
    by_id = {o["id"]: o for o in out if o["id"] is not None}
    assert by_id["en"]["sentiment"]["label"] == "positive" and by_id["en"]["lang"] == "en"
    assert by_id["zh"]["sentiment"]["label"] == "negative" and by_id["zh"]["lang"] == "zh"
    for good in ("en", "zh", "mixed", "emoji", "long", "bad-utf8", "pii"):
        assert set(by_id[good]) == FIELDS, good
        assert 0.0 <= by_id[good]["toxicity"] <= 1.0
        assert abs(sum(by_id[good]["sentiment"]["scores"].values()) - 1) < 1e-3
    assert {p["kind"] for p in by_id["pii"]["pii"]} >= {"email", "phone"}
    assert "text" in by_id["empty"]["error"]
    assert "invalid JSON" in out[7]["error"] and out[7]["id"] is None
    assert "empty line" in out[8]["error"]
    assert by_id["no-text"]["error"].startswith("text: missing")
    assert by_id[7]["error"].startswith("text:")
    assert "JSON object" in out[11]["error"]
    assert "read 13 lines" in done.stdout


def test_a_dash_reads_standard_input_and_writes_standard_output(run_cli):
    posts = b"".join(orjson.dumps({"id": str(i), "text": t}) + b"\n" for i, t in enumerate(["love it", "太差了"]))
    done = run_cli("analyze", "--input", "-", "--output", "-", input=posts.decode(), timeout=180)
    assert done.returncode == 0, done.stderr
    assert [orjson.loads(x)["id"] for x in done.stdout.splitlines()] == ["0", "1"]  # only results on stdout
    assert "read 2 lines" in done.stderr and "standard output" in done.stderr


def test_bad_options_give_one_line(run_cli, tmp_path):
    done = run_cli("analyze", "--output", str(tmp_path / "x.jsonl"))
    assert done.returncode != 0 and "--input/--store" in done.stderr and "Traceback" not in done.stderr
    done = run_cli("analyze", "--input", "-", "--output", "-", "--address", "ray://head:10001")  # not ignored
    assert done.returncode == 1 and done.stderr.startswith("error: --address: is only used with --engine ray")
    done = run_cli("analyze", "--input", str(tmp_path / "missing.jsonl"), "--output", str(tmp_path / "x.jsonl"))
    assert done.returncode != 0 and "--input" in done.stderr and "Traceback" not in done.stderr


def test_a_csv_input_is_refused_in_one_line_before_anything_is_written(run_cli, tmp_path):
    from townsquare.errors import BadInput
    from townsquare.understand.batch import check_first_line

    csv_file, dst = tmp_path / "export.csv", tmp_path / "out.jsonl"
    csv_file.write_text("id,text\n1,love it\n2,hate it\n")
    dst.write_text("kept\n")
    done = run_cli("analyze", "--input", str(csv_file), "--output", str(dst))
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"error: --input: {csv_file} looks like CSV, not JSONL") and "`id`" in done.stderr
    assert dst.read_text() == "kept\n"  # refused before the output was opened
    # standard input and files not named .csv/.tsv keep the contract: one output line per input line
    piped = run_cli("analyze", "--input", "-", "--output", "-", input=csv_file.read_text())
    assert piped.returncode == 0 and len(piped.stdout.splitlines()) == 3, piped.stderr
    assert all("error" in json.loads(line) for line in piped.stdout.splitlines())
    check_first_line(b'{"id": 1, "text": "ok"}\n', "posts.csv")
    check_first_line(b"{not json\n", "posts.jsonl")
    check_first_line(b"hello, world\n", "posts.jsonl")
    with pytest.raises(BadInput, match="^--input: x.tsv looks like CSV"):
        check_first_line(b"id\ttext\n", "x.tsv")


def test_store_analysis_embeds_once_and_skips_done_posts(tmp_store):
    ids = tmp_store.ensure_authors([("x", "a")])
    now = datetime(2026, 11, 28, tzinfo=UTC)
    texts = ["Worst customer service ever, I want a refund", "今天天气真好，心情很愉快", "New phone day!", ""]
    tmp_store.upsert_posts([Post("x", str(i), t or " ", now, author_id="a") for i, t in enumerate(texts)], ids)
    first = analyze_store(tmp_store, batch=2)
    assert first["analysed"] == 4
    with tmp_store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(EmbeddingRow)).scalar_one() == 4
        rows = {r.post_id: r for r in conn.execute(select(AnalysisRow.__table__))}
    assert len(rows) == 4 and rows[1].sentiment == "negative" and rows[1].result["lang"] == "en"
    assert rows[2].lang == "zh"
    assert analyze_store(tmp_store)["analysed"] == 0  # nothing new: nothing recomputed


@pytest.fixture
def client(tmp_store, settings_env):
    app = create_app(settings_env)
    keys = {role: {"Authorization": f"Bearer {app.state.keys.create(role)[1]}"} for role in ("analyst", "agent")}
    with TestClient(app) as c:
        yield c, keys


def test_api_analyze(client):
    c, keys = client
    body = {"posts": [{"id": 1, "text": "I hate waiting, this is awful"}, {"id": "b", "text": "太棒了！"},
                      {"text": "   "}]}
    r = c.post("/analyze", json=body, headers=keys["analyst"])
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["id"] for x in results] == [1, "b", None]
    assert results[0]["sentiment"]["label"] == "negative" and results[1]["lang"] == "zh"
    assert "error" in results[2]
    assert c.post("/analyze", json=body, headers=keys["agent"]).status_code == 403
    assert c.post("/analyze", json=body).status_code == 401
    r = c.post("/analyze", json={"posts": []}, headers=keys["analyst"])
    assert r.status_code == 422 and "posts" in r.json()["error"]
