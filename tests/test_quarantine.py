"""The quarantine: retrying records after the cause is fixed, the `ingest` and `quarantine` commands, and the whole
path on PostgreSQL (skipped with a reason when no server is reachable)."""

from __future__ import annotations

import orjson
import pytest
from typer.testing import CliRunner

from tests.pg import fresh_postgres_database
from tests.test_ingest import mixed_jsonl
from townsquare.cli import app
from townsquare.config import get_settings
from townsquare.errors import BadInput, NotFound
from townsquare.ingest import ingest_path, retry_quarantined
from townsquare.store import Store
from townsquare.store.db import get_engine

runner = CliRunner()
LONG = {"id": "long1", "text": "x" * 80, "author": "alice", "created_at": "2026-11-28T14:10:08Z"}


def _set_limit(monkeypatch, n: int) -> None:
    monkeypatch.setenv("TOWNSQUARE_MAX_TEXT_CHARS", str(n))
    get_settings.cache_clear()


def test_retry_after_raising_the_text_limit(tmp_store, monkeypatch, tmp_path):
    _set_limit(monkeypatch, 50)
    path = tmp_path / "long.jsonl"
    path.write_bytes(orjson.dumps(LONG) + b"\n{broken\n")
    csv_path = tmp_path / "long.csv"
    csv_path.write_text(f"id,text,created_at\ncsv1,{'y' * 70},2026-11-28T14:10:08Z\n", encoding="utf-8")
    assert ingest_path(path, store=tmp_store, progress=False).quarantined == 2
    assert ingest_path(csv_path, store=tmp_store, progress=False).quarantined == 1

    still = retry_quarantined(store=tmp_store)  # nothing changed yet
    assert (still.tried, still.resolved, still.still_open) == (3, 0, 3)
    assert all(r["attempts"] == 1 for r in tmp_store.list_quarantine())

    _set_limit(monkeypatch, 100)
    report = retry_quarantined(store=tmp_store)
    assert (report.tried, report.resolved, report.still_open) == (3, 2, 1)
    assert {p["platform_id"] for p in tmp_store.query_posts()} == {"long1", "csv1"}
    [left] = tmp_store.list_quarantine()
    assert left["attempts"] == 2 and left["reason"].startswith("invalid JSON (")
    assert tmp_store.count_quarantine("resolved") == 2
    assert ingest_path(path, store=tmp_store, progress=False).new == 0  # the retried post is the file's post
    with pytest.raises(NotFound, match="no record 999"):
        retry_quarantined([999], store=tmp_store)


def test_retry_resolves_an_author_ingested_later(tmp_store, tmp_path):
    def page(tid, author, users):
        return orjson.dumps({"data": [{"id": tid, "text": "hello", "author_id": author, "lang": "en",
                                       "created_at": "2026-11-28T14:10:08.000Z"}],
                             "includes": {"users": users}}) + b"\n"

    first = tmp_path / "page1.jsonl"
    first.write_bytes(page("1", "u9", []))
    assert ingest_path(first, store=tmp_store, progress=False).quarantined == 1
    second = tmp_path / "page2.jsonl"
    second.write_bytes(page("2", "u9", [{"id": "u9", "username": "late"}]))
    assert ingest_path(second, store=tmp_store, progress=False).new == 1
    [row] = tmp_store.list_quarantine()
    report = retry_quarantined([row["id"]], store=tmp_store)
    assert report.resolved == 1 and tmp_store.count_quarantine() == 0
    assert {p["platform_id"]: p["author"] for p in tmp_store.query_posts()} == {"1": "late", "2": "late"}


def test_cli_ingest_list_show_retry(tmp_store, monkeypatch, tmp_path):
    _set_limit(monkeypatch, 50)
    path = tmp_path / "mixed.jsonl"
    mixed_jsonl(path)
    result = runner.invoke(app, ["ingest", str(path), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "read 10, stored 3 (new 3, updated 0, unchanged 0), quarantined 7" in result.output
    assert "townsquare quarantine list" in result.output and "line 5: invalid UTF-8 at byte 25" in result.output

    result = runner.invoke(app, ["quarantine", "list", "--limit", "3"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "line 4" in result.output and "invalid JSON" in result.output and "showing 3 of 7" in result.output

    row = next(r for r in tmp_store.list_quarantine() if r["location"] == "line 5")
    result = runner.invoke(app, ["quarantine", "show", str(row["id"])])
    assert result.exit_code == 0 and "caf\ufffd" in result.output and "re-encode the file as UTF-8" in result.output

    long_row = next(r for r in tmp_store.list_quarantine() if r["location"] == "line 9")
    _set_limit(monkeypatch, 1000)
    result = runner.invoke(app, ["quarantine", "retry", str(long_row["id"]), str(row["id"])])
    assert result.exit_code == 0, result.output
    assert "retried 2: resolved 1, still quarantined 1" in result.output
    result = runner.invoke(app, ["quarantine", "list", "--all"], terminal_width=200)
    assert "resolved" in result.output

    result = runner.invoke(app, ["quarantine", "retry"])
    assert isinstance(result.exception, BadInput)
    result = runner.invoke(app, ["quarantine", "show", "12345"])
    assert isinstance(result.exception, NotFound)
    result = runner.invoke(app, ["ingest", str(path), "--map", "nonsense"])
    assert isinstance(result.exception, BadInput) and "FIELD=COLUMN" in str(result.exception)


def test_cli_errors_are_one_line_and_nonzero(run_cli, tmp_path):
    result = run_cli("ingest", str(tmp_path / "missing.jsonl"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: PATH: {tmp_path / 'missing.jsonl'} does not exist or is "
                                                  "not a file — check the path"]
    (tmp_path / "ok.jsonl").write_text('{"id": "1", "text": "hi", "created_at": "2026-11-28T14:10:08Z"}\n')
    result = run_cli("ingest", str(tmp_path / "ok.jsonl"), "--format", "yaml")
    assert result.returncode == 1 and result.stderr.startswith('error: --format: "yaml" is not a known format')
    result = run_cli("ingest", str(tmp_path / "ok.jsonl"))
    assert result.returncode == 0 and result.stdout.strip() == ("read 1, stored 1 (new 1, updated 0, unchanged 0), "
                                                                "quarantined 0")


@pytest.mark.postgres
def test_ingestion_and_retry_on_postgresql(settings_env, monkeypatch, tmp_path):
    _set_limit(monkeypatch, 50)
    with fresh_postgres_database() as url:
        store = Store(get_engine(url))
        path = tmp_path / "mixed.jsonl"
        expected = mixed_jsonl(path)
        report = ingest_path(path, store=store, progress=False)
        assert (report.read, report.stored, report.quarantined) == (10, 3, len(expected))
        again = ingest_path(path, store=store, progress=False)
        assert (again.new, again.updated, again.unchanged) == (0, 0, 3) and store.count_quarantine() == 7
        texts = {p["platform_id"]: p["text"] for p in store.query_posts()}
        assert texts["2"] == "第二条微博，很好用"
        _set_limit(monkeypatch, 1000)
        retried = retry_quarantined(store=store)
        assert (retried.resolved, retried.still_open) == (1, 6) and store.count_posts() == 4
