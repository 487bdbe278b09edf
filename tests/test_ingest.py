"""Generic ingestion (JSONL, CSV, Parquet, API batches): every record is stored or quarantined (N = S + Q),
bad input of every kind gets a clear reason, and re-ingesting the same file changes nothing."""

from __future__ import annotations

import csv
import gzip
import io
from datetime import UTC, datetime

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from townsquare.config import get_settings
from townsquare.errors import BadInput
from townsquare.ingest import ingest_path, ingest_records
from townsquare.ingest.formats import generic
from townsquare.ingest.items import Context

GOOD = [
    {"id": "1", "text": "first post #launch", "author": "alice", "created_at": "2026-11-28T14:10:08Z", "lang": "en"},
    {"id": 2, "text": "第二条微博，很好用", "author": "bob", "created_at": "2026-11-28T22:10:08+08:00", "lang": "zh"},
    {"id": "3", "text": "a reply", "author": "alice", "created_at": "2026-11-28 15:00:00", "reply_to": "1"},
]


def _line(rec) -> bytes:
    return orjson.dumps(rec) + b"\n"


def mixed_jsonl(path, long_text_chars: int = 60) -> dict[int, str]:
    """Three good posts and one bad line of each kind; returns {line number: expected reason fragment}."""
    lines = [_line(r) for r in GOOD]
    bad = {
        4: (b'{"id": "4", "text": "unterminated\n', "invalid JSON ("),
        5: (b'{"id": "5", "text": "caf\xe9", "author": "a", "created_at": "2026-11-28T14:10:08Z"}\n',
            "invalid UTF-8 at byte 25 — re-encode the file as UTF-8"),
        6: (_line({"text": "no id", "created_at": "2026-11-28T14:10:08Z"}), "id: missing"),
        7: (_line({"id": "7", "text": "  ", "created_at": "2026-11-28T14:10:08Z"}),
            "text: missing — every post needs a non-empty text"),
        8: (_line({"id": "8", "text": "when?", "created_at": "yesterday"}),
            'created_at: "yesterday" is not an ISO 8601 time — use e.g. 2026-11-28T14:10:08Z'),
        9: (_line({"id": "9", "text": "x" * long_text_chars, "created_at": "2026-11-28T14:10:08Z"}),
            f"text: {long_text_chars:,} characters is over the limit of 50"),
        10: (b"\"just a string\"\n", "record: expected a JSON object"),
    }
    path.write_bytes(b"".join(lines) + b"".join(raw for raw, _ in bad.values()))
    return {n: reason for n, (_, reason) in bad.items()}


@pytest.fixture
def small_limit(settings_env, monkeypatch):
    monkeypatch.setenv("TOWNSQUARE_MAX_TEXT_CHARS", "50")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_mixed_jsonl_every_record_is_stored_or_quarantined(tmp_store, small_limit, tmp_path):
    path = tmp_path / "mixed.jsonl"
    expected = mixed_jsonl(path)
    report = ingest_path(path, store=tmp_store, progress=False)
    assert (report.read, report.stored, report.quarantined) == (10, 3, 7)
    assert report.read == report.stored + report.quarantined
    assert report.summary() == "read 10, stored 3 (new 3, updated 0, unchanged 0), quarantined 7"
    rows = {r["location"]: r for r in tmp_store.list_quarantine()}
    assert set(rows) == {f"line {n}" for n in expected}
    for n, fragment in expected.items():
        assert fragment in rows[f"line {n}"]["reason"], rows[f"line {n}"]["reason"]
        assert f"line {n}: " in "\n".join(report.reasons)
    raw_lines = path.read_bytes().splitlines()
    assert rows["line 5"]["raw"] == raw_lines[4]  # the raw bytes, exactly as in the file
    assert rows["line 4"]["source"] == str(path.resolve()) and rows["line 4"]["format"] == "jsonl"
    posts = {p["platform_id"]: p for p in tmp_store.query_posts()}
    assert posts["2"]["text"] == "第二条微博，很好用" and posts["2"]["created_at"] == datetime(2026, 11, 28, 14, 10, 8)
    assert posts["3"]["reply_to"] == "1" and posts["3"]["author"] == "alice" and posts["1"]["platform"] == "generic"

    again = ingest_path(path, store=tmp_store, progress=False)
    assert (again.new, again.updated, again.unchanged, again.quarantined) == (0, 0, 3, 7)
    assert tmp_store.count_quarantine() == 7  # the same bad records are not quarantined twice
    assert tmp_store.count_posts() == 3


def test_changed_record_is_an_update(tmp_store, tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(b"".join(_line(r) for r in GOOD))
    assert ingest_path(path, store=tmp_store, progress=False).new == 3
    path.write_bytes(b"".join(_line({**r, "text": r["text"] + " (edited)"} if r["id"] == "1" else r) for r in GOOD))
    report = ingest_path(path, store=tmp_store, progress=False)
    assert (report.new, report.updated, report.unchanged) == (0, 1, 2)


def test_mixed_csv_with_invalid_utf8_row(tmp_store, small_limit, tmp_path):
    path = tmp_path / "mixed.csv"
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["id", "text", "author", "created_at", "lang"])
    w.writerow(["1", "plain", "alice", "2026-11-28T14:10:08Z", "en"])
    w.writerow(["2", "line one\nline two, with a comma", "bob", "2026-11-28T14:11:00Z", "en"])  # quoted newline
    w.writerow(["3", "中文内容", "bob", "2026-11-28T14:12:00+08:00", "zh"])
    w.writerow(["4", "", "bob", "2026-11-28T14:12:00Z", ""])
    w.writerow(["5", "bad time", "bob", "28/11/2026", ""])
    data = out.getvalue().encode() + b'6,"caf\xe9 au lait",bob,2026-11-28T14:13:00Z,fr\r\n' + b"7,too,few\r\n"
    path.write_bytes(data)
    report = ingest_path(path, store=tmp_store, progress=False)
    assert (report.read, report.stored, report.quarantined) == (7, 3, 4)
    rows = {r["location"]: r for r in tmp_store.list_quarantine()}
    assert set(rows) == {"line 6", "line 7", "line 8", "line 9"}  # line numbers count the quoted newline
    assert rows["line 6"]["reason"].startswith("text: missing")
    assert rows["line 7"]["reason"].startswith('created_at: "28/11/2026" is not an ISO 8601 time')
    assert rows["line 8"]["reason"] == ('text: invalid UTF-8 (byte 0xe9 at character 4) — re-encode the file as UTF-8')
    assert b"caf\xe9 au lait" in rows["line 8"]["raw"]  # the original bytes are kept
    assert "header has 5" in rows["line 9"]["reason"]
    posts = {p["platform_id"]: p for p in tmp_store.query_posts()}
    assert posts["2"]["text"] == "line one\nline two, with a comma"
    again = ingest_path(path, store=tmp_store, progress=False)
    assert (again.new, again.updated, again.quarantined) == (0, 0, 4) and tmp_store.count_quarantine() == 4


def test_csv_column_mapping_and_platform(tmp_store, tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("tweet_id,content,user,ts\n11,mapped text,carol,2026-11-28T14:10:08Z\n12,,carol,"
                    "2026-11-28T14:10:08Z\n", encoding="utf-8")
    mapping = {"id": "tweet_id", "text": "content", "author": "user", "created_at": "ts"}
    report = ingest_path(path, mapping=mapping, platform="x", store=tmp_store, progress=False)
    assert (report.stored, report.quarantined) == (1, 1)
    post = tmp_store.query_posts()[0]
    assert (post["platform"], post["platform_id"], post["text"], post["author"]) == ("x", "11", "mapped text", "carol")
    row = tmp_store.list_quarantine()[0]
    assert row["reason"].startswith('text (column "content"): missing')
    assert row["format"] == "csv@x"
    assert orjson.loads(row["raw"])["text"] == ""  # stored under our field names so a retry needs no mapping
    with pytest.raises(BadInput, match="is not a field"):
        ingest_path(path, mapping={"body": "content"}, store=tmp_store, progress=False)
    with pytest.raises(BadInput, match=r'has no column "text" for text \(columns: tweet_id, content, user, ts\) — name '
                                       r"it with --map text=COLUMN"):
        ingest_path(path, mapping={"id": "tweet_id"}, store=tmp_store, progress=False)


def test_mixed_parquet(tmp_store, small_limit, tmp_path):
    path = tmp_path / "posts.parquet"
    table = pa.table({
        "id": ["1", "2", None, "4", "5"],
        "text": ["parquet post", "第二", "no id", None, "y" * 80],
        "author": ["alice", "bob", "bob", "bob", "bob"],
        "created_at": [datetime(2026, 11, 28, 14, 10, 8, tzinfo=UTC)] * 5,
        "platform": ["reddit", None, None, None, None],
    })
    pq.write_table(table, path, row_group_size=2)
    report = ingest_path(path, store=tmp_store, progress=False)
    assert (report.read, report.stored, report.quarantined) == (5, 2, 3)
    reasons = {r["location"]: r["reason"] for r in tmp_store.list_quarantine()}
    assert reasons["row 3"].startswith("id: missing") and reasons["row 4"].startswith("text: missing")
    assert reasons["row 5"].startswith("text: 80 characters is over the limit of 50")
    platforms = {p["platform_id"]: p["platform"] for p in tmp_store.query_posts()}
    assert platforms == {"1": "reddit", "2": "generic"}
    again = ingest_path(path, store=tmp_store, progress=False)
    assert (again.new, again.updated, again.quarantined) == (0, 0, 3) and tmp_store.count_quarantine() == 3


def test_gzip_jsonl_and_tsv(tmp_store, tmp_path):
    gz = tmp_path / "posts.jsonl.gz"
    gz.write_bytes(gzip.compress(b"\xef\xbb\xbf" + b"".join(_line(r) for r in GOOD)))  # with a byte order mark
    assert ingest_path(gz, store=tmp_store, progress=False).new == 3
    tsv = tmp_path / "posts.tsv"
    tsv.write_text("id\ttext\tcreated_at\n20\ttab separated, with comma\t2026-11-28T14:10:08Z\n", encoding="utf-8")
    assert ingest_path(tsv, store=tmp_store, progress=False).new == 1


def test_ingest_records_quarantines_bad_records_with_api_source(tmp_store):
    records = [GOOD[0], {"id": "x1", "text": "missing time"}, "not an object", {"id": "x2", "text": "ok",
                                                                                  "created_at": 1764339008}]
    report = ingest_records(records, store=tmp_store)
    assert (report.read, report.new, report.quarantined) == (4, 2, 2)
    assert report.reasons == ["record 2: created_at: missing — every post needs a created_at time, e.g. "
                              "2026-11-28T14:10:08Z",
                              "record 3: record: expected a JSON object with id, text, author, created_at — send one "
                              "object per post"]
    rows = tmp_store.list_quarantine()
    assert {r["source"] for r in rows} == {"api"} and orjson.loads(rows[1]["raw"]) == "not an object"
    again = ingest_records(records, store=tmp_store)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)


def test_bad_path_and_format_are_one_line_errors(tmp_store, tmp_path):
    with pytest.raises(BadInput, match="does not exist"):
        ingest_path(tmp_path / "nope.jsonl", store=tmp_store)
    (tmp_path / "a.jsonl").write_text("{}\n")
    with pytest.raises(BadInput, match='"yaml" is not a known format'):
        ingest_path(tmp_path / "a.jsonl", "yaml", store=tmp_store)
    (tmp_path / "odd.json").write_text('"just a string"')
    with pytest.raises(BadInput, match="does not look like any known format"):
        ingest_path(tmp_path / "odd.json", store=tmp_store)


def test_empty_file_reads_nothing(tmp_store, tmp_path):
    (tmp_path / "empty.jsonl").write_bytes(b"")
    assert ingest_path(tmp_path / "empty.jsonl", store=tmp_store, progress=False).read == 0


def test_nul_characters_are_dropped_from_text(tmp_store):
    report = ingest_records([{"id": "n1", "text": "a\x00b", "created_at": "2026-11-28T14:10:08Z"}], store=tmp_store)
    assert report.new == 1 and tmp_store.query_posts()[0]["text"] == "ab"


@pytest.mark.parametrize("rec", [
    GOOD[0], GOOD[2],
    {"id": " 5 ", "text": "padded id", "created_at": "2026-11-28T14:10:08Z"},
    {"id": "6", "text": "t", "created_at": "2026-11-28T14:10:08.123456-05:00", "author": "", "lang": " en "},
    {"id": "7", "text": "t", "created_at": "2026-11-28T14:10:08Z", "platform": "mastodon", "likes": "12"},
    {"id": "7", "text": "t", "created_at": "2026-11-28T14:10:08Z", "likes": 12, "reposts": 0, "views": None},
    {"id": "8", "text": "t", "created_at": "2026-11-28t14:10:08z"},
])
def test_fast_path_builds_the_same_post_as_the_checked_path(rec):
    ctx = Context(max_chars=100, reference_time=datetime.now(UTC))
    checked = generic._checked(rec, ctx, "line 1", None).post
    assert generic.record(rec, ctx, "line 1").post == checked
    fast = generic._fast_post(rec, ctx)
    assert fast is None or fast == checked


@pytest.mark.parametrize(("var", "value", "example"), [
    ("TOWNSQUARE_MAX_TEXT_CHARS", "abc", "100000"),
    ("TOWNSQUARE_MAX_BODY_BYTES", "10MB", "10485760"),
    ("TOWNSQUARE_INGEST_BATCH_SIZE", "abc", "5000"),
])
def test_a_bad_integer_setting_names_the_variable_its_value_and_the_fix(settings_env, monkeypatch, var, value,
                                                                         example):
    monkeypatch.setenv(var, value)
    get_settings.cache_clear()
    with pytest.raises(BadInput) as exc:
        get_settings()
    assert str(exc.value) == f"{var}: {value!r} is not a whole number — set it like {var}={example}"


def test_the_cli_prints_a_bad_setting_as_one_line(run_cli, monkeypatch):
    monkeypatch.setenv("TOWNSQUARE_MAX_TEXT_CHARS", "abc")
    r = run_cli("db", "status")
    assert r.returncode == 1 and "Traceback" not in r.stderr and "ValidationError" not in r.stderr
    assert r.stderr.strip() == ("error: TOWNSQUARE_MAX_TEXT_CHARS: 'abc' is not a whole number — set it like "
                                "TOWNSQUARE_MAX_TEXT_CHARS=100000")


def test_posts_dated_more_than_a_day_ahead_are_quarantined(tmp_store, tmp_path):
    from datetime import timedelta

    soon = (datetime.now(UTC) + timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")  # within the slack: kept
    records = [{"id": "f1", "text": "from the future", "created_at": "2099-01-01T00:00:00Z"},
               {"id": "f2", "text": "epoch seconds too", "created_at": 4_070_908_800},
               {"id": "f3", "text": "a clock a little ahead", "created_at": soon}]
    report = ingest_records(records, store=tmp_store)
    assert (report.read, report.new, report.quarantined) == (3, 1, 2)
    assert report.reasons[0] == ("record 1: created_at: 2099-01-01T00:00:00Z is more than a day in the future — "
                                 "fix the post's time (UTC or with its offset, e.g. 2026-11-28T14:10:08Z)")
    assert report.reasons[1].startswith("record 2: created_at: 2099-01-01T00:00:00Z is more than a day")
    path = tmp_path / "future.jsonl"
    path.write_bytes(_line(GOOD[0]) + _line({"id": "f4", "text": "x", "created_at": "2099-01-01T00:00:00+08:00"}))
    report = ingest_path(path, store=tmp_store, progress=False)
    assert (report.new, report.quarantined) == (1, 1) and "line 2: created_at:" in report.reasons[0]
    assert max(p["created_at"] for p in tmp_store.query_posts()).year < 2098
