"""Listen end to end on a real (small) sample world: watches, matching, exactly-once counting, detection of the
scripted crisis, explanations — on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.pg import fresh_postgres_database
from townsquare.errors import BadInput
from townsquare.listen.aggregate import series
from townsquare.listen.monitor import list_alerts
from townsquare.listen.pipeline import ListenPipeline, message
from townsquare.listen.watches import Matcher, Watch, add_watch, check_watch, list_watches, remove_watch
from townsquare.store import Store
from townsquare.store.db import get_engine
from townsquare.store.tables import WatchBucketRow, WatchMatchRow
from townsquare.world import WorldConfig, crisis_window, iter_hours

WORLD = WorldConfig(posts=5_000, days=10, authors=500, crisis_day=7, crisis_share=0.04)  # a clear crisis: 200 posts
KEYWORDS = ["Acme Phone", "#AcmePhone", "acme手机", "Acme"]


def _messages(cfg: WorldConfig) -> list[dict]:
    return [message({"id": p.platform_id, "platform": p.platform, "text": p.text, "author": p.author_id,
                     "created_at": p.created_at.isoformat()})
            for hb in iter_hours(cfg, interactions=False) for p in hb.posts]


def _run(store: Store, msgs: list[dict], batch: int = 500) -> ListenPipeline:
    pipe = ListenPipeline(store)
    for i in range(0, len(msgs), batch):
        pipe.process(msgs[i:i + batch])
    return pipe


def _volume(store: Store, watch_id: int, minutes: int) -> int:
    t = WatchBucketRow.__table__.c
    with store.engine.connect() as conn:
        return conn.execute(select(func.sum(t.volume)).where(t.watch_id == watch_id, t.minutes == minutes)).scalar()


def _matches(store: Store, watch_id: int) -> int:
    t = WatchMatchRow.__table__.c
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).where(t.watch_id == watch_id)).scalar()


@pytest.fixture(scope="module")
def world_messages():
    return _messages(WORLD)


def test_watch_input_errors_name_the_field_and_the_fix():
    for watch, field in [(Watch(name=""), "name"), (Watch(name="x", langs=["fr"]), "langs"),
                         (Watch(name="x", minutes=7), "minutes"), (Watch(name="x", similarity=1.5), "similarity"),
                         (Watch(name="x", webhook_url="ftp://x"), "webhook_url"),
                         (Watch(name="x", sensitivity=2.0), "sensitivity")]:
        with pytest.raises(BadInput) as err:
            check_watch(watch)
        assert str(err.value).startswith(field + ":") and "—" in str(err.value)
    assert check_watch(Watch(name=" Acme ")).keywords == ["Acme"]  # the name is the default keyword


def test_keywords_match_hashtags_handles_width_and_chinese_and_respect_languages():
    import numpy as np

    w = Watch(name="Acme Phone", keywords=["Acme Phone", "acme手机", "@acme_support"], langs=["en", "zh"], id=1)
    m = Matcher([w], np.ones((1, 4), np.float32))
    texts = ["Loving my #AcmePhone", "ＡＣＭＥ ＰＨＯＮＥ is hot", "我的acme手机发烫了", "thanks @Acme_Support!",
             "acmephones are great", "Acme Phonebook", "the acme phone", "Acme Phone review", "nothing here"]
    langs = ["en", "en", "zh", "en", "en", "en", "en", "fr", "en"]
    emb = np.array([[1, 0, 0, 0]] * len(texts), np.float32)  # orthogonal to the watch: no semantic matches
    emb[:, 0] = 0
    emb[:, 1] = 1
    found = {x.index for x in m.match(texts, langs, [""] * len(texts), emb)}
    assert found == {0, 1, 2, 3, 6}  # not "acmephones"/"Phonebook" (word boundaries), not French, not "nothing"


def test_semantic_matching_finds_a_post_that_only_describes_the_product():
    from townsquare.understand.batch import get_analyzer

    embed = get_analyzer().embed
    w = Watch(name="Acme Phone", keywords=["Acme Phone"], description="smartphone battery overheating while charging",
              similarity=0.5, id=1)
    m = Matcher([w], embed([w.semantic_text]))
    texts = ["my new smartphone gets dangerously hot when I charge the battery", "lovely sunset at the beach"]
    found = m.match(texts, ["en", "en"], ["", ""], embed(texts))
    assert [(x.index, x.how) for x in found] == [(0, "semantic")]


def test_a_negative_burst_is_one_alert_that_carries_its_volume(tmp_store):
    """Volume and negative volume jump in the same bucket: one alert (negative), the volume in its "also"."""
    from datetime import datetime

    add_watch(tmp_store, Watch(name="Acme Phone", keywords=["Acme Phone"], similarity=0.99, minutes=60))
    t0, quiet = datetime(2026, 10, 1), ["Got my Acme Phone today, works fine", "Acme Phone camera is nice"]
    posts = [(t0 + timedelta(hours=h, minutes=7 * i), quiet[(h + i) % 2]) for h in range(160) for i in range(h % 2 + 1)]  # past the detectors' 150-bucket warm-up
    posts += [(t0 + timedelta(hours=160, minutes=3 * i), f"My Acme Phone is overheating, terrible, burned my hand #{i}")
              for i in range(15)]
    posts += [(t0 + timedelta(hours=162, minutes=i), quiet[0]) for i in range(2)]  # moves the watermark on
    _run(tmp_store, [message({"id": str(i), "text": text, "author": f"u{i % 40}", "created_at": at.isoformat()})
                     for i, (at, text) in enumerate(posts)])
    alerts = list_alerts(tmp_store)
    assert [(a["metric"], a["bucket_start"]) for a in alerts] == [("negative", "2026-10-07T16:00:00Z")]
    also = alerts[0]["explanation"]["also"]
    assert [(o["metric"], o["value"]) for o in also] == [("volume", 15.0)]
    summary = alerts[0]["explanation"]["summary"]
    assert summary["method"] != "extractive" or "of 15 posts, 10.0x the usual 1.5)" in summary["text"], summary


def _check_world(store: Store, msgs: list[dict]) -> None:
    watch = add_watch(store, Watch(name="Acme Phone", keywords=KEYWORDS, similarity=0.99, minutes=60))
    bad = [message({"id": "bad-1", "text": "no author and no time"}), {"format": "nope", "record": {}},
           message("not an object")]
    _run(store, msgs[:2000] + bad + msgs[2000:])
    matched = _matches(store, watch.id)
    assert matched > 50
    for minutes in (1, 5, 60):  # every granularity counts each matched post once
        assert _volume(store, watch.id, minutes) == matched
    assert store.count_quarantine() == 3  # nothing lost: the bad messages are kept with their reasons

    # Redelivery (a consumer died before acking): everything again, nothing counted twice, no new alerts.
    alerts_before = list_alerts(store, watch.id)
    _run(store, msgs[1000:3000], batch=250)
    assert _matches(store, watch.id) == matched and _volume(store, watch.id, 60) == matched
    assert len(list_alerts(store, watch.id)) == len(alerts_before)

    # The scripted crisis is detected within hours of its start, on the negative-volume metric or volume.
    start, _ = crisis_window(WORLD)
    start = start.replace(tzinfo=None)
    hits = [a for a in alerts_before
            if start <= _parse(a["bucket_start"]) <= start + timedelta(hours=6)]
    assert hits, f"no alert near the crisis at {start}: {[a['bucket_start'] for a in alerts_before]}"
    false = [a for a in alerts_before if not start - timedelta(hours=1) <= _parse(a["bucket_start"])
             <= start + timedelta(hours=30)]
    assert len(false) <= 2, f"too many alerts outside the crisis: {[a['bucket_start'] for a in false]}"

    buckets = [a["bucket_start"] for a in alerts_before]  # a volume jump in a negative alert's bucket joins it
    assert len(buckets) == len(set(buckets)), f"two alerts for one bucket: {sorted(buckets)}"
    e = hits[0]["explanation"]
    assert 1 <= len(e["clusters"]) <= 5 and sum(c["posts"] for c in e["clusters"]) == e["posts"]
    assert all(c["examples"] and c["keywords"] for c in e["clusters"])
    for n, a in enumerate(e["clusters"]):  # two threads with the same words are one thread
        assert all(len(set(a["keywords"]) & set(b["keywords"])) < 3 for b in e["clusters"][n + 1:]), e["clusters"]
    assert not {k.lower() for c in e["clusters"] for k in c["keywords"]} & {"acme", "phone"}  # the watch's words
    assert e["summary"]["method"] in ("extractive", "llm") and e["summary"]["text"]
    assert e["draft"]["text"] and e["draft"]["language"] in ("en", "zh")
    assert set(e["languages"]) <= {"en", "zh", "other"}
    rows = series(store, watch.id, 60)
    assert max(r["volume"] for r in rows) >= 5 and sum(r["volume"] for r in rows) == matched


def _parse(iso: str):
    from datetime import datetime

    return datetime.fromisoformat(iso.rstrip("Z"))


def test_world_on_sqlite_counts_once_and_detects_the_crisis(tmp_store, world_messages):
    _check_world(tmp_store, world_messages)
    watch = list_watches(tmp_store)[0]
    assert remove_watch(tmp_store, watch.name) and _matches(tmp_store, watch.id) == 0


@pytest.mark.postgres
def test_world_on_postgresql_counts_once_and_detects_the_crisis(world_messages):
    with fresh_postgres_database() as url:
        store = Store(get_engine(url))
        _check_world(store, world_messages)
        store.engine.dispose()


def test_the_demo_detects_its_crisis_again_after_a_restart(tmp_store, world_messages):
    """Each start of `serve --demo` re-creates the demo's watch and replays the crisis through the stream. A second
    start raised no alert: the stream's watermark still stood at the end of the first replay, so every crisis bucket
    was scored empty before its posts came back."""
    from townsquare.listen.replay import prepare_demo
    from townsquare.world.io import load_world

    load_world(WORLD, tmp_store)  # as `serve --demo` does before its first start
    start, _ = crisis_window(WORLD)
    start = start.replace(tzinfo=None)
    for restart in range(2):
        since, until = prepare_demo(tmp_store, start, lead_hours=24, after_hours=12)
        _run(tmp_store, [m for m in world_messages
                         if since <= _parse(m["record"]["created_at"]).replace(tzinfo=None) < until])
        watch = next(w for w in list_watches(tmp_store) if w.name == "Acme Phone")
        hits = [a for a in list_alerts(tmp_store, watch.id)
                if start <= _parse(a["bucket_start"]) <= start + timedelta(hours=6)]
        assert hits, f"start {restart + 1}: no alert near the crisis at {start}"


def test_cli_watch_add_backfill_and_alerts(run_cli, tmp_store):
    from townsquare.world import load_world

    load_world(WorldConfig(posts=600, days=5, authors=100, crisis_day=3, crisis_share=0.1), tmp_store,
               progress=False)
    bad = run_cli("watch", "add", "Acme", "--lang", "fr")
    assert bad.returncode == 1 and bad.stderr.strip().startswith("error: langs:")
    ok = run_cli("watch", "add", "Acme Phone", "--keywords", "Acme Phone,#AcmePhone,acme手机,Acme")
    assert ok.returncode == 0 and "Acme Phone" in ok.stdout, ok.stderr
    filled = run_cli("listen", "backfill", timeout=240)
    assert filled.returncode == 0 and "backfilled 600 posts" in filled.stdout, filled.stderr
    again = run_cli("listen", "backfill", timeout=240)  # idempotent: nothing counted twice
    assert again.returncode == 0
    watch = list_watches(tmp_store)[0]
    assert _volume(tmp_store, watch.id, 60) == _matches(tmp_store, watch.id) > 10
    series_out = run_cli("listen", "series", "Acme Phone", "--json")
    assert series_out.returncode == 0 and sum(b["volume"] for b in json.loads(series_out.stdout)) == \
        _matches(tmp_store, watch.id)
    buckets = len(json.loads(series_out.stdout))
    table = run_cli("listen", "series", "Acme Phone", "--last", "3")  # the table shows the newest; says so
    assert table.returncode == 0 and len(re.findall(r"\d{4}-\d\d-\d\dT\d\d:", table.stdout)) == 3, table.stdout
    assert f"the last 3 of {buckets:,} buckets" in table.stderr, table.stderr
    assert run_cli("listen", "alerts", "--watch", "nope").returncode == 1


def test_cli_stream_checks_the_format_first_and_consume_needs_redis(run_cli, tmp_store, tmp_path, monkeypatch):
    monkeypatch.delenv("TOWNSQUARE_STREAM_URL", raising=False)
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"data": {"id": "11", "text": "my Acme Phone is hot", "author_id": "9",
                                         "created_at": "2026-11-28T14:10:08Z"},
                                "includes": {"users": [{"id": "9", "username": "bob"}]}}) + "\n")
    bad = run_cli("stream", str(path), "--format", "bogus")
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1, bad.stderr
    assert bad.stderr.startswith("error: --format: 'bogus' is not a record format — use one of x-v2,")
    assert tmp_store.count_quarantine() == 0  # refused before anything was sent
    ok = run_cli("stream", str(path), "--format", "x_v2", timeout=180)  # the underscore spelling is an alias
    assert ok.returncode == 0 and "stored 1, quarantined 0" in ok.stdout, ok.stdout + ok.stderr
    consume = run_cli("listen", "consume", timeout=30)  # the embedded queue: it would wait forever
    assert consume.returncode == 1 and consume.stderr.count("\n") == 1, consume.stderr
    assert "TOWNSQUARE_STREAM_URL=redis://" in consume.stderr and "serve" in consume.stderr


def test_top_terms_are_content_words_in_both_languages():
    """Function words once labelled whole audience segments ("这部, 大家, 一下, 说实话") and "band's" was a word."""
    from townsquare.listen.aggregate import terms

    assert terms("The band's comeback single is out, it's great", "en") == ["band", "comeback", "single"]
    zh = terms("说实话大家觉得这部电影一下就火了，这件大衣真好看", "zh")
    assert "电影" in zh and not {"说实话", "大家", "觉得", "这部", "一下", "这件"} & set(zh)


def test_clusters_labelled_alike_are_merged_into_the_larger():
    """An alert showed "battery, hot, overheating" (18 posts) and "battery, hot, overheating" (9 posts)."""
    import numpy as np

    from townsquare.listen.explain import merge_alike

    labels = np.array([0, 0, 1, 1, 1, 2, 3, 3])
    names = [["battery", "hot", "overheating", "fire"], ["battery", "hot", "overheating", "smell"],
             ["delivery", "late"], ["price", "discount", "coupon"]]
    assert merge_alike(labels, names).tolist() == [0, 0, 0, 0, 0, 1, 2, 2]
    assert merge_alike(np.array([0, 1]), [["a", "b", "c"], ["d", "e"]]).tolist() == [0, 1]  # nothing alike
