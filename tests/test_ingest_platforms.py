"""Platform shapes: X v2 / v1.1, Mastodon, Weibo, Reddit, Bluesky — on small payloads written here and on the real
payloads in ../shared/datasets/platform_samples (skipped with a reason when that folder is absent)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from townsquare.errors import BadInput
from townsquare.ingest import ingest_path, ingest_records
from townsquare.ingest.detect import plan_for
from townsquare.ingest.formats.weibo import weibo_time
from townsquare.ingest.html_text import html_to_text

SAMPLES = Path(os.environ.get("TOWNSQUARE_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets")) \
    / "platform_samples"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"platform samples not found at {SAMPLES} "
                                   "(set TOWNSQUARE_DATASETS to the shared datasets folder)")


def _write(path: Path, value) -> Path:
    path.write_bytes(orjson.dumps(value))
    return path


def _posts(store) -> dict[str, dict]:
    return {p["platform_id"]: p for p in store.query_posts(limit=10_000)}


# ---- X / Twitter -------------------------------------------------------------------------------------------------
def _tweet(tid, text, author="u1", **kw):
    return {"id": tid, "text": text, "author_id": author, "created_at": "2026-11-28T14:10:08.000Z", "lang": "en",
            "public_metrics": {"like_count": 3, "retweet_count": 1, "reply_count": 0, "quote_count": 0}, **kw}


def test_x_v2_pages_resolve_authors_and_references(tmp_store, tmp_path):
    page1 = {"data": [_tweet("10", "RT @orig: the original…", referenced_tweets=[{"type": "retweeted", "id": "9"}]),
                      _tweet("11", "@orig agreed &amp; more", referenced_tweets=[{"type": "replied_to", "id": "9"}]),
                      _tweet("12", "who wrote me?", author="ghost")],
             "includes": {"users": [{"id": "u1", "username": "alice", "name": "Alice",
                                     "public_metrics": {"followers_count": 42}, "created_at": "2020-01-01T00:00:00Z"},
                                    {"id": "u2", "username": "orig", "name": "Orig"}],
                          "tweets": [_tweet("9", "the original, in full", author="u2")]},
             "meta": {"result_count": 3}, "__twarc": {"url": "https://api.twitter.com/2/tweets/search/recent"}}
    errors_only = {"errors": [{"title": "Not Found Error", "detail": "Could not find tweet"}]}
    path = tmp_path / "pages.jsonl"
    path.write_bytes(orjson.dumps(page1) + b"\n" + orjson.dumps(errors_only) + b"\n")
    assert plan_for(path).label == "x-v2"
    report = ingest_path(path, store=tmp_store, progress=False)
    assert (report.read, report.stored, report.quarantined, report.skipped) == (4, 3, 1, 1)
    posts = _posts(tmp_store)
    assert posts["10"]["repost_of"] == "9" and posts["11"]["reply_to"] == "9"
    assert posts["11"]["text"] == "@orig agreed & more" and posts["11"]["author"] == "alice"
    assert posts["9"]["text"] == "the original, in full" and posts["9"]["author"] == "orig"
    assert posts["10"]["metrics"] == {"likes": 3, "reposts": 1, "replies": 0, "quotes": 0}
    row = tmp_store.list_quarantine()[0]
    assert row["reason"].startswith("author_id: ghost not found in includes.users")
    assert orjson.loads(row["raw"])["data"][0]["id"] == "12"
    assert ingest_path(path, store=tmp_store, progress=False).new == 0


def test_x_v2_single_response_document_and_stream_message(tmp_store, tmp_path):
    doc = _write(tmp_path / "response.json", {"data": [_tweet("20", "from a document")],
                                             "includes": {"users": [{"id": "u1", "username": "alice"}]}})
    assert ingest_path(doc, store=tmp_store, progress=False).new == 1
    stream = _write(tmp_path / "stream.json", {"data": _tweet("21", "streamed"), "matching_rules": [{"id": "1"}],
                                               "includes": {"users": [{"id": "u1", "username": "alice"}]}})
    assert ingest_path(stream, "x-v2", store=tmp_store, progress=False).new == 1


def test_x_v1_statuses_with_retweet_and_extended_text(tmp_store, tmp_path):
    user = {"id": 7, "id_str": "7", "screen_name": "bob", "name": "Bob", "followers_count": 5,
            "created_at": "Sun Mar 26 19:17:08 +0000 2006"}
    original = {"id_str": "100", "text": "short…", "truncated": True, "user": user, "lang": "en",
                "extended_tweet": {"full_text": "the full text of the original &lt;3"},
                "created_at": "Sat Nov 28 06:10:08 +0000 2026"}
    retweet = {"id_str": "101", "text": "RT @bob: short…", "user": user, "retweeted_status": original,
               "created_at": "Sat Nov 28 07:00:00 +0000 2026", "retweet_count": 4, "favorite_count": 0}
    path = _write(tmp_path / "timeline.json", [retweet, {"id_str": "102", "text": "bad", "user": user,
                                                          "created_at": "28.11.2026"}])
    report = ingest_path(path, store=tmp_store, progress=False)
    assert plan_for(path).label == "x-v1" and (report.stored, report.quarantined) == (2, 1)
    posts = _posts(tmp_store)
    assert posts["100"]["text"] == "the full text of the original <3" and posts["101"]["repost_of"] == "100"
    assert posts["100"]["created_at"] == datetime(2026, 11, 28, 6, 10, 8) and posts["100"]["platform"] == "x"
    assert "is not an X v1.1 time" in tmp_store.list_quarantine()[0]["reason"]


# ---- Mastodon ----------------------------------------------------------------------------------------------------
def _status(sid, content, **kw):
    return {"id": sid, "created_at": "2026-08-01T13:53:58.036Z", "in_reply_to_id": None, "spoiler_text": "",
            "language": "en", "uri": f"https://m.example/statuses/{sid}", "content": content, "reblog": None,
            "account": {"id": "a1", "acct": "alice@m.example", "display_name": "Alice", "followers_count": 9,
                        "note": "<p>I &amp; my cat</p>", "created_at": "2026-08-01T00:00:00.000Z"},
            "replies_count": 0, "reblogs_count": 1, "favourites_count": 2, **kw}


def test_mastodon_html_reblogs_replies_and_notifications(tmp_store, tmp_path):
    html = ('<p>Hi <span class="h-card"><a href="https://m.example/@bob" class="u-url mention">@<span>bob</span></a>'
            '</span> it&#39;s <a href="https://example.com/a?b=1" rel="nofollow"><span class="invisible">https://'
            '</span><span class="">example.com/a?b=1</span></a></p><p>second<br>line <a href="https://m.example/tags/x"'
            ' class="mention hashtag">#<span>x</span></a></p>')
    original = _status("1", html)
    reblog = _status("2", "", reblog=original)
    reply = _status("3", "<p>a reply</p>", in_reply_to_id="1", spoiler_text="CW: spoilers")
    notification = {"id": "9", "type": "mention", "group_key": "ungrouped-9", "account": original["account"],
                    "status": reply}
    path = _write(tmp_path / "home.json", [reblog, notification, _status("4", "")])
    assert plan_for(path).label == "mastodon"
    report = ingest_path(path, store=tmp_store, progress=False)
    assert (report.read, report.stored, report.quarantined) == (4, 3, 1)  # the empty toot is quarantined
    posts = _posts(tmp_store)
    assert posts["1"]["text"] == "Hi @bob it's https://example.com/a?b=1\n\nsecond\nline #x"
    assert posts["2"]["repost_of"] == "1" and posts["2"]["text"] == posts["1"]["text"]
    assert posts["3"]["text"] == "CW: spoilers\n\na reply" and posts["3"]["reply_to"] == "1"
    assert posts["1"]["author"] == "alice@m.example" and posts["1"]["metrics"]["likes"] == 2


def test_mastodon_platform_override_keeps_servers_apart(tmp_store, tmp_path):
    path = _write(tmp_path / "statuses.json", [_status("1", "<p>same id, other server</p>")])
    ingest_path(path, store=tmp_store, progress=False)
    ingest_path(path, platform="mastodon.social", store=tmp_store, progress=False)
    assert sorted(p["platform"] for p in tmp_store.query_posts()) == ["mastodon", "mastodon.social"]


# ---- Weibo -------------------------------------------------------------------------------------------------------
REF = datetime(2026, 11, 28, 6, 0, 0, tzinfo=UTC)  # 14:00 in China Standard Time


@pytest.mark.parametrize("text,expected", [
    ("Sat Nov 28 14:10:08 +0800 2026", datetime(2026, 11, 28, 6, 10, 8, tzinfo=UTC)),
    ("刚刚", REF),
    ("30秒前", REF - timedelta(seconds=30)),
    ("5分钟前", REF - timedelta(minutes=5)),
    ("3小时前", REF - timedelta(hours=3)),
    ("今天 12:00", datetime(2026, 11, 28, 4, 0, tzinfo=UTC)),
    ("昨天 23:30", datetime(2026, 11, 27, 15, 30, tzinfo=UTC)),
    ("前天 08:00", datetime(2026, 11, 26, 0, 0, tzinfo=UTC)),
    ("11-20", datetime(2026, 11, 19, 16, 0, tzinfo=UTC)),
    ("12-31", datetime(2025, 12, 30, 16, 0, tzinfo=UTC)),  # later than the reference: last year
    ("2021-06-27", datetime(2021, 6, 26, 16, 0, tzinfo=UTC)),
])
def test_weibo_times_absolute_and_relative(text, expected):
    assert weibo_time(text, REF) == expected


def test_weibo_time_unknown_form_has_a_clear_reason():
    with pytest.raises(BadInput, match=r'created_at: "上周" is not a Weibo time — expected e.g. "Sat Nov 28'):
        weibo_time("上周", REF)


def test_weibo_page_with_repost_html_and_counts(tmp_store, tmp_path):
    user = {"id": 6279793937, "screen_name": "明日方舟Arknights", "followers_count": "136.4万"}
    original = {"id": "4649000000000001", "mid": "4649000000000001", "created_at": "Thu Jun 17 11:00:31 +0800 2021",
                "text": "原微博<br />第二行", "user": user, "attitudes_count": 5}
    card = {"card_type": 9, "mblog": {
        "id": "4649031014551911", "mid": "4649031014551911", "created_at": "5分钟前", "user": user,
        "text": ('<a  href="https://m.weibo.cn/search?containerid=231522type%3D1" data-hide=""><span class="surl-text">'
                 '#明日方舟#</span></a> 转发<span class="url-icon"><img alt=[doge] src="https://h5.sinaimg.cn/x.png" />'
                 "</span> <a href='/n/微博抽奖平台'>@微博抽奖平台</a> <a href=\"https://weibo.cn/sinaurl?u=http%3A%2F%2F"
                 'example.com%2Fp\"><span class="surl-text">网页链接</span></a>'),
        "retweeted_status": original, "reposts_count": 83, "comments_count": 577, "attitudes_count": 16368}}
    bad = {"card_type": 9, "mblog": {"id": "4649031014551999", "mid": "4649031014551999", "created_at": "上周",
                                     "text": "x", "user": user}}
    path = _write(tmp_path / "weibo_page.json", {"ok": 1, "data": {"cards": [card, bad]}})
    saved_at = datetime(2026, 11, 28, 6, 0, 0, tzinfo=UTC).timestamp()
    os.utime(path, (saved_at, saved_at))  # relative times count back from when the page was saved
    assert plan_for(path).label == "weibo"
    report = ingest_path(path, store=tmp_store, progress=False)
    assert (report.read, report.stored, report.quarantined) == (3, 2, 1)
    posts = _posts(tmp_store)
    repost = posts["4649031014551911"]
    assert repost["text"] == "#明日方舟# 转发[doge] @微博抽奖平台 http://example.com/p"
    assert repost["created_at"] == datetime(2026, 11, 28, 5, 55) and repost["repost_of"] == "4649000000000001"
    assert repost["metrics"] == {"likes": 16368, "reposts": 83, "replies": 577}
    assert posts["4649000000000001"]["text"] == "原微博\n第二行"
    assert posts["4649000000000001"]["created_at"] == datetime(2021, 6, 17, 3, 0, 31)
    again = ingest_path(path, store=tmp_store, progress=False)  # same file, same mtime: same times
    assert (again.new, again.updated) == (0, 0)
    assert ingest_path(_write(tmp_path / "err.json", {"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}),
                       store=tmp_store, progress=False).read == 0


# ---- Reddit ------------------------------------------------------------------------------------------------------
def test_reddit_listing_thread_and_pushshift_dump(tmp_store, tmp_path):
    reply = {"kind": "t1", "data": {"id": "c2", "name": "t1_c2", "author": "[deleted]", "body": "[deleted]",
                                    "created_utc": 1764339010.0, "parent_id": "t1_c1", "link_id": "t3_s1",
                                    "replies": "", "score": 1}}
    comment = {"kind": "t1", "data": {"id": "c1", "name": "t1_c1", "author": "alice", "body": "Q &amp; A",
                                      "created_utc": 1764339009.0, "parent_id": "t3_s1", "link_id": "t3_s1",
                                      "score": 5, "replies": {"kind": "Listing", "data": {"children": [
                                          reply, {"kind": "more", "data": {"count": 3, "children": ["c9"]}}]}}}}
    submission = {"kind": "t3", "data": {"id": "s1", "name": "t3_s1", "author": "bob", "title": "A question",
                                         "selftext": "", "is_self": False, "url": "https://example.com/x",
                                         "created_utc": 1764339008, "num_comments": 2, "score": 10}}
    thread = [{"kind": "Listing", "data": {"children": [submission]}},
              {"kind": "Listing", "data": {"children": [comment]}}]
    path = _write(tmp_path / "thread.json", thread)
    assert plan_for(path).label == "reddit"
    report = ingest_path(path, store=tmp_store, progress=False)
    assert (report.read, report.stored, report.quarantined) == (3, 3, 0)
    posts = _posts(tmp_store)
    assert posts["t3_s1"]["text"] == "A question\n\nhttps://example.com/x"
    assert posts["t1_c1"]["text"] == "Q & A" and posts["t1_c1"]["reply_to"] == "t3_s1"
    assert posts["t1_c2"]["author"] is None and posts["t1_c2"]["reply_to"] == "t1_c1"
    assert posts["t3_s1"]["created_at"] == datetime(2025, 11, 28, 14, 10, 8)

    dump = tmp_path / "RC_2026-11.ndjson"
    lines = [{"id": "d1", "author": "carol", "body": "pushshift comment", "created_utc": "1764339008",
              "subreddit": "test", "link_id": "t3_s1", "parent_id": "t3_s1"},
             {"id": "d2", "author": "dave", "title": "a submission", "selftext": "with body", "created_utc": 1764339008,
              "subreddit": "test"},
             {"id": "d3", "author": "erin", "body": "no time", "subreddit": "test", "created_utc": None}]
    dump.write_bytes(b"\n".join(orjson.dumps(x) for x in lines) + b"\n")
    report = ingest_path(dump, store=tmp_store, progress=False)
    assert (report.read, report.stored, report.quarantined) == (3, 2, 1)
    posts = _posts(tmp_store)
    assert posts["t1_d1"]["reply_to"] == "t3_s1" and posts["t3_d2"]["text"] == "a submission\n\nwith body"
    assert tmp_store.list_quarantine()[0]["reason"].startswith("created_utc: missing")


# ---- Bluesky -----------------------------------------------------------------------------------------------------
def test_bluesky_feed_with_replies_quotes_and_reposts(tmp_store, tmp_path):
    def view(rkey, text, **record):
        return {"uri": f"at://did:plc:abc/app.bsky.feed.post/{rkey}", "cid": "bafy", "likeCount": 2,
                "author": {"did": "did:plc:abc", "handle": "alice.bsky.social", "displayName": "Alice"},
                "record": {"$type": "app.bsky.feed.post", "text": text, "createdAt": "2026-11-28T14:10:08.000+00:00",
                           "langs": ["ja"], **record}, "indexedAt": "2026-11-28T14:10:09.000Z"}

    parent = view("p1", "親の投稿")
    child = view("c1", "a reply", reply={"parent": {"uri": parent["uri"]}, "root": {"uri": parent["uri"]}},
                 embed={"$type": "app.bsky.embed.record", "record": {"uri": "at://did:plc:zzz/app.bsky.feed.post/q"}})
    feed = {"feed": [{"post": child, "reply": {"root": parent, "parent": parent}},
                     {"post": view("r1", "reposted"), "reason": {"$type": "app.bsky.feed.defs#reasonRepost"}},
                     {"post": view("i1", "")}], "cursor": "x"}
    path = _write(tmp_path / "getTimeline.json", feed)
    assert plan_for(path).label == "bluesky"
    report = ingest_path(path, store=tmp_store, progress=False)
    assert (report.read, report.stored, report.quarantined) == (5, 4, 1)
    posts = _posts(tmp_store)
    c = posts[child["uri"]]
    assert c["reply_to"] == parent["uri"] and c["quote_of"].endswith("/q") and c["lang"] == "ja"
    assert c["author_id"] == "did:plc:abc" and c["author"] == "alice.bsky.social"


# ---- API batches in platform shapes, and helpers -----------------------------------------------------------------
def test_ingest_records_accepts_platform_shapes(tmp_store):
    report = ingest_records([_status("77", "<p>via the API</p>")], "mastodon", store=tmp_store)
    assert report.new == 1 and tmp_store.query_posts()[0]["text"] == "via the API"


def test_html_to_text_plain_and_entities():
    assert html_to_text("plain &amp; simple") == "plain & simple"
    assert html_to_text("<p>a</p><p>b<br/>c</p>") == "a\n\nb\nc"
    assert html_to_text(None) == ""


def test_mapping_is_refused_for_platform_formats(tmp_store, tmp_path):
    path = _write(tmp_path / "statuses.json", [_status("1", "<p>x</p>")])
    with pytest.raises(BadInput, match="column mappings apply to generic files"):
        ingest_path(path, mapping={"text": "content"}, store=tmp_store, progress=False)


# ---- the real payloads -------------------------------------------------------------------------------------------
EXPECTED_FORMAT = {"twitter/twarc_csv_v2": "x-v2", "twitter/python_twitter_v1.1": "x-v1",
                   "mastodon/mastodon_py_cassettes": "mastodon", "weibo/nonebot_bison": "weibo",
                   "reddit/praw_cassettes": "reddit", "bluesky/atproto_dart": "bluesky"}


def _sample_files() -> list[Path]:
    if not SAMPLES.is_dir():
        return []
    return sorted(p for p in SAMPLES.rglob("*") if p.is_file() and p.suffix not in (".md", ".yaml"))


@needs_samples
def test_every_real_payload_is_detected_stored_and_idempotent(tmp_store):
    files = _sample_files()
    assert len(files) > 50
    stored: dict[str, int] = {}
    for path in files:
        folder = next(f for f in EXPECTED_FORMAT if f in path.as_posix())
        report = ingest_path(path, store=tmp_store, progress=False)
        assert report.read == report.stored + report.quarantined, path
        if report.read:
            assert report.format == EXPECTED_FORMAT[folder], path
        again = ingest_path(path, store=tmp_store, progress=False)
        assert (again.new, again.updated) == (0, 0), path
        stored[EXPECTED_FORMAT[folder]] = stored.get(EXPECTED_FORMAT[folder], 0) + report.stored
    assert min(stored.values()) > 0, stored
    by_platform = {}
    for p in tmp_store.query_posts(limit=100_000):
        by_platform[p["platform"]] = by_platform.get(p["platform"], 0) + 1
    # Distinct posts per platform (see each SOURCE.md): Reddit 1,051 fullnames; Bluesky ~480 posts (a few image-only
    # posts without text are quarantined); Mastodon 108 statuses; Weibo 22 + nested originals; X: ~1,010 tweets in
    # v2 `data`, their `includes.tweets` and 112 v1.1 statuses, overlapping.
    assert by_platform["reddit"] == 1_051 and by_platform["bluesky"] >= 470 and by_platform["x"] >= 1_500
    assert by_platform["weibo"] >= 22 and by_platform["mastodon"] >= 105


@needs_samples
def test_real_x_v2_truncated_line_and_withheld_authors(tmp_store):
    report = ingest_path(SAMPLES / "twitter/twarc_csv_v2/streaming_output_with_error.jsonl", store=tmp_store,
                         progress=False)
    assert report.quarantined == 1 and report.reasons[0].startswith("line 8: invalid JSON (")
    report = ingest_path(SAMPLES / "twitter/twarc_csv_v2/withheld.jsonl", store=tmp_store, progress=False)
    assert report.quarantined > 0 and all("not found in includes.users" in r for r in report.reasons)


@needs_samples
def test_real_weibo_and_mastodon_text(tmp_store):
    ingest_path(SAMPLES / "weibo/nonebot_bison/weibo_ys_list_0.json", store=tmp_store, progress=False)
    texts = [p["text"] for p in tmp_store.query_posts(platform="weibo")]
    assert any("[作揖]" in t for t in texts) and not any("<span" in t or "<a " in t for t in texts)
    ingest_path(SAMPLES / "mastodon/mastodon_py_cassettes/test_status_reblog_unreblog.bodies.json", store=tmp_store,
                progress=False)
    masto = tmp_store.query_posts(platform="mastodon")
    assert any(p["repost_of"] for p in masto) and all("<p>" not in p["text"] for p in masto)


def test_unexpected_shapes_quarantine_one_record_not_the_file(tmp_store):
    odd = _tweet("31", "metrics of the wrong type", public_metrics=[1, 2])
    page = {"data": [_tweet("30", "fine"), odd], "includes": {"users": [{"id": "u1", "username": "alice",
                                                                         "public_metrics": {"followers_count": "many"}}]}}
    report = ingest_records([page], "x-v2", store=tmp_store)
    assert (report.read, report.stored, report.quarantined) == (2, 1, 1)
    assert report.reasons[0].startswith("record 1 #2: record: unexpected shape (AttributeError")
