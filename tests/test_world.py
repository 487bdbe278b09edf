"""The sample world: deterministic, the sizes asked for, realistic enough for the jobs that learn from it."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from itertools import islice
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.pg import fresh_postgres_database
from townsquare.cli import app
from townsquare.errors import BadInput
from townsquare.schema import INTERACTION_KINDS
from townsquare.store import Store
from townsquare.store.db import get_engine
from townsquare.store.tables import AuthorRow, FollowRow, InteractionRow, PostRow
from townsquare.world import (
    WorldConfig,
    crisis_post_ids,
    crisis_window,
    distractor_window,
    generate_authors,
    generate_follows,
    is_crisis_post,
    iter_hours,
    iter_interactions,
    iter_labelled_posts,
    iter_posts,
    load_world,
    write_world,
)
from townsquare.world.people import people
from townsquare.world.stream import plan

SMALL = WorldConfig(authors=400, posts=6_000, days=14)
LEXICONS = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "senti_weibo_coae2014" / "lexicons"


@pytest.fixture(scope="module")
def world():
    """The small world, generated once: authors by id, follows, labelled posts, interactions."""
    authors = {a.platform_id: a for a in generate_authors(SMALL)}
    return authors, generate_follows(SMALL), list(iter_labelled_posts(SMALL)), list(iter_interactions(SMALL))


def _fresh(cfg: WorldConfig):
    people.cache_clear()  # generate from scratch, not from the per-config cache
    plan.cache_clear()
    return (generate_authors(cfg), generate_follows(cfg), list(iter_posts(cfg)), list(iter_interactions(cfg)))


def test_same_seed_gives_the_same_world_and_another_seed_another():
    cfg = WorldConfig(authors=150, posts=1_500, days=5)
    first, again = _fresh(cfg), _fresh(WorldConfig(authors=150, posts=1_500, days=5))
    assert first == again
    other = _fresh(WorldConfig(seed=8, authors=150, posts=1_500, days=5))
    assert [a.handle for a in other[0]] != [a.handle for a in first[0]]
    same_text = sum(p.text == q.text for p, q in zip(first[2], other[2], strict=True))
    assert same_text < len(first[2]) * 0.05
    assert {(f.follower_id, f.followee_id) for f in other[1]} != {(f.follower_id, f.followee_id) for f in first[1]}


def test_posts_do_not_depend_on_how_the_stream_is_consumed(world):
    posts = [p for p, _ in world[2]]
    with_interactions = [p for batch in iter_hours(SMALL, interactions=True) for p in batch.posts]
    assert with_interactions == posts
    stream, chunks = iter_posts(SMALL), []
    while chunk := list(islice(stream, 777)):
        chunks.extend(chunk)
    assert chunks == posts


def test_sizes_are_as_asked(world):
    authors, follows, posts, interactions = world
    assert len(authors) == SMALL.authors and len(posts) == SMALL.posts
    assert 0.8 * SMALL.follows_per_author <= len(follows) / len(authors) <= 1.2 * SMALL.follows_per_author
    # The last hours' interactions would fall after the world ends, so slightly fewer than asked.
    assert 0.8 * SMALL.interactions_per_post <= len(interactions) / len(posts) <= 1.1 * SMALL.interactions_per_post
    in_degree = Counter(f.followee_id for f in follows)
    assert all(a.followers == in_degree[pid] for pid, a in authors.items())
    assert max(in_degree.values()) > 10 * sorted(in_degree.values())[len(in_degree) // 2]  # heavy-tailed fame


def test_everything_is_in_time_order_and_refers_to_what_exists(world):
    authors, follows, labelled, interactions = world
    posts = [p for p, _ in labelled]
    times = [p.created_at for p in posts]
    assert times == sorted(times) and SMALL.start <= times[0] and times[-1] < SMALL.end
    assert all(t.tzinfo is not None for t in times[:10])
    seen: dict[str, object] = {}
    for p in posts:
        assert p.author_id in authors and p.lang in ("en", "zh") and p.platform == "demo"
        assert p.reply_to is None or p.reply_to in seen  # replies point at an earlier post
        assert set(p.metrics) == {"likes", "reposts", "replies"}
        seen[p.platform_id] = p
    assert len(seen) == len(posts)
    pairs = [(f.follower_id, f.followee_id) for f in follows]
    assert len(set(pairs)) == len(pairs) and all(a != b and a in authors and b in authors for a, b in pairs)
    assert [i.created_at for i in interactions] == sorted(i.created_at for i in interactions)
    for i in interactions:
        assert i.user_id in authors and i.kind in INTERACTION_KINDS
        assert i.created_at >= seen[i.post_id].created_at and i.created_at < SMALL.end


def test_both_languages_replies_hashtags_mentions_emoji_spam_and_pii(world):
    authors, _, labelled, _ = world
    posts = [p for p, _ in labelled]
    langs = Counter(p.lang for p in posts)
    assert 0.3 < langs["zh"] / len(posts) < 0.5
    assert 0.15 < sum(p.reply_to is not None for p in posts) / len(posts) < 0.25
    texts = [p.text for p in posts]
    assert sum("#" in t for t in texts) > 0.2 * len(texts)
    handles = {a.handle for a in authors.values()}
    mentioned = [m for t in texts for m in re.findall(r"(?<![\w.])@([\w.]+)", t)]
    assert len(mentioned) > 0.15 * len(texts) and all(m in handles for m in mentioned)
    assert sum(bool(re.search("[\U0001F300-\U0001FAFF]", t)) for t in texts) > 0.1 * len(texts)
    assert len(set(texts)) > 0.9 * len(texts)  # templates x slots: texts are rarely repeated
    # Personal data a PII detector can find, in the posts labelled so and nowhere else.
    pii = re.compile(r"[\w.]+@example\.(?:com|org)|\+1 \(2\d\d\) 555-01\d\d|(?<!\d)1[3-9]\d{9}(?!\d)")
    found = {p.platform_id for p in posts if pii.search(p.text)}
    labelled_pii = {p.platform_id for p, t in labelled if t.pii}
    assert labelled_pii and found == labelled_pii
    # Spam: a few bot accounts posting near-duplicates (same words, other codes and numbers).
    spam = [p for p, t in labelled if t.spam]
    assert 0.005 < len(spam) / len(posts) < 0.02
    shapes = Counter(re.sub(r"[0-9a-f]{6}|\d+", "#", p.text) for p in spam)
    assert len(shapes) < len(spam) / 2 and len({p.author_id for p in spam}) <= 5


def test_the_crisis_is_a_burst_of_negative_posts_about_the_product(world):
    _, _, labelled, _ = world
    start, end = crisis_window(SMALL)
    assert start == SMALL.start + timedelta(days=10, hours=9) and timedelta(days=1) < end - start < timedelta(days=2)
    ids = crisis_post_ids(SMALL)
    assert len(ids) == round(SMALL.posts * SMALL.crisis_share)
    crisis = [p for p, _ in labelled if p.platform_id in ids]
    assert all(start - timedelta(hours=1) <= p.created_at < end for p in crisis)
    assert all(is_crisis_post(SMALL, p) for p in crisis[:20])
    complaints = [p for p in crisis if p.reply_to is None]  # "same here" replies may just agree
    assert all(re.search(r"(?i)overheat|hot\b|burning|烫|过热", p.text) and "Acme" in p.text for p in complaints)
    brand = [(p, t) for p, t in labelled if "Acme" in p.text]

    def negative_share(rows):
        return sum(t.sentiment == "neg" for _, t in rows) / len(rows)

    inside = [(p, t) for p, t in brand if start <= p.created_at < end]
    outside = [(p, t) for p, t in brand if not start - timedelta(hours=1) <= p.created_at < end]
    assert len(outside) > 20 and negative_share(outside) < 0.3 < 0.7 < negative_share(inside)
    # Volume: the first six hours of the crisis bring 5x more brand posts than six hours usually do.
    first_six = sum(start <= p.created_at < start + timedelta(hours=6) for p, _ in brand)
    usual_six = len(outside) / ((SMALL.end - SMALL.start - (end - start)) / timedelta(hours=6))
    assert first_six > 5 * usual_six


def test_the_cup_final_is_a_loud_happy_burst_not_a_crisis(world):
    _, _, labelled, _ = world
    start, end = distractor_window(SMALL)
    final = [(p, t) for p, t in labelled if t.event == "final"]
    assert len(final) == round(SMALL.posts * SMALL.distractor_share)
    assert all(start <= p.created_at < end and "Acme" not in p.text for p, _ in final)
    assert sum(t.sentiment == "pos" for _, t in final) / len(final) > 0.6


def test_sentiment_is_visible_in_english_text(world):
    vader = pytest.importorskip("vaderSentiment.vaderSentiment", reason="vaderSentiment (extra `ml`) not installed")
    analyzer = vader.SentimentIntensityAnalyzer()
    scores = {s: [] for s in ("pos", "neu", "neg")}
    for p, t in world[2]:
        if p.lang == "en" and len(scores[t.sentiment]) < 300:
            scores[t.sentiment].append(analyzer.polarity_scores(p.text)["compound"])
    mean = {s: sum(v) / len(v) for s, v in scores.items()}
    assert mean["pos"] > 0.4 and mean["neg"] < -0.3 and mean["neg"] < mean["neu"] < mean["pos"]


def test_sentiment_is_visible_in_chinese_text(world):
    if not (LEXICONS / "ntusd-positive.txt").is_file():
        pytest.skip(f"NTUSD lexicons not found in {LEXICONS} (shared datasets absent)")
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    good = set((LEXICONS / "ntusd-positive.txt").read_text(encoding="utf-8-sig").split())
    bad = set((LEXICONS / "ntusd-negative.txt").read_text(encoding="utf-8-sig").split())
    scores = {s: [] for s in ("pos", "neu", "neg")}
    for p, t in world[2]:
        if p.lang == "zh" and not t.event:
            words = jieba.lcut(p.text)
            scores[t.sentiment].append(sum(w in good for w in words) - sum(w in bad for w in words))
    mean = {s: sum(v) / len(v) for s, v in scores.items()}
    assert mean["pos"] > 0.4 and mean["neg"] < -0.3 and mean["neg"] < mean["neu"] < mean["pos"]


def test_interactions_follow_interests_follows_and_online_hours(world):
    authors, follows, labelled, interactions = world
    topic = {p.platform_id: t.topic for p, t in labelled}
    author_of = {p.platform_id: p.author_id for p, _ in labelled}
    followed = {(f.follower_id, f.followee_id) for f in follows}
    likes = [i for i in interactions if i.kind == "like"]
    into = sum(topic[i.post_id] in authors[i.user_id].extra["interests"] for i in likes) / len(likes)
    share_of_topic = Counter(t for a in authors.values() for t in a.extra["interests"])
    chance = sum(share_of_topic[topic[i.post_id]] for i in likes if topic[i.post_id]) / len(likes) / len(authors)
    assert into > 2.5 * chance  # people like what they are into
    from_followers = sum((i.user_id, author_of[i.post_id]) in followed for i in likes) / len(likes)
    assert from_followers > 5 * len(follows) / len(authors) ** 2  # and what the people they follow post
    online = sum(i.created_at.hour in authors[i.user_id].extra["active_hours"] for i in interactions)
    assert online / len(interactions) > 0.95  # at the hours they are online
    spam = {p.platform_id for p, t in labelled if t.spam}
    hides = Counter(i.kind for i in interactions if i.post_id in spam)
    assert hides["hide"] + hides["report"] > hides["like"]  # spam gets hidden, not liked
    posts_online = sum(p.created_at.hour in authors[p.author_id].extra["active_hours"] for p, _ in labelled)
    assert posts_online / len(labelled) > 0.9


@pytest.mark.parametrize("options, langs", [
    ({"zh_share": 0.0}, {"en"}),
    ({"zh_share": 1.0}, {"zh"}),
    ({"crisis": False, "distractor": False, "follows_per_author": 0}, {"en", "zh"}),
    ({"authors": 20, "posts": 200, "days": 1}, {"en", "zh"}),
])
def test_edge_worlds_still_have_the_sizes_asked(options, langs):
    cfg = WorldConfig(**{"authors": 100, "posts": 1_000, "days": 3, **options})
    posts = list(iter_labelled_posts(cfg))
    assert len(posts) == cfg.posts and len(generate_authors(cfg)) == cfg.authors
    assert {p.lang for p, t in posts if not t.brand} == langs
    assert len(crisis_post_ids(cfg)) == (round(cfg.posts * cfg.crisis_share) if cfg.crisis else 0)
    assert not cfg.follows_per_author or generate_follows(cfg)
    assert all(i.post_id for i in islice(iter_interactions(cfg), 100))


def test_config_errors_name_the_field():
    with pytest.raises(BadInput, match="^posts: "):
        WorldConfig(posts=0)
    with pytest.raises(BadInput, match="^crisis_day: "):
        WorldConfig(days=10, crisis_day=12)


def _count(store: Store, table) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_store(request, tmp_path):
    if request.param == "sqlite":
        yield Store(get_engine(f"sqlite:///{tmp_path / 'world.db'}"))
    else:
        with fresh_postgres_database() as url:
            yield Store(get_engine(url))


def test_load_world_is_idempotent(empty_store):
    cfg = WorldConfig(authors=200, posts=2_000, days=5)
    first = load_world(cfg, empty_store, batch_size=700)
    follows, interactions = generate_follows(cfg), list(iter_interactions(cfg))
    assert (first.authors, first.posts, first.post_counts.new) == (200, 2_000, 2_000)
    assert first.follows == len(follows) and first.interactions == len(interactions)
    tables = (AuthorRow, PostRow, FollowRow, InteractionRow)
    counts = [_count(empty_store, t) for t in tables]
    assert counts == [200, 2_000, len(follows), len(interactions)]
    again = load_world(cfg, empty_store, batch_size=1_000)
    assert (again.post_counts.new, again.post_counts.updated, again.post_counts.unchanged) == (0, 0, 2_000)
    assert again.follows == 0 and again.interactions == 0
    assert [_count(empty_store, t) for t in tables] == counts


def test_written_files_are_the_generic_ingest_format(tmp_path):
    from townsquare.ingest import ingest_path

    cfg = WorldConfig(authors=100, posts=800, days=3)
    summary = write_world(cfg, tmp_path / "w")
    names = {p.name for p in (tmp_path / "w").iterdir()}
    assert names == {"authors.jsonl", "follows.tsv", "posts.jsonl", "interactions.jsonl", "labels.jsonl",
                     "world.json"}
    lines = (tmp_path / "w" / "posts.jsonl").read_bytes().splitlines()
    first = orjson.loads(lines[0])
    assert len(lines) == summary.posts == 800
    assert {"id", "text", "author", "created_at", "lang", "platform", "reply_to", "likes"} <= set(first)
    assert len((tmp_path / "w" / "follows.tsv").read_text().splitlines()) == summary.follows + 1
    meta = orjson.loads((tmp_path / "w" / "world.json").read_bytes())
    assert meta["counts"]["interactions"] == summary.interactions and meta["crisis_window"]
    # Ingesting the file into a store that holds the loaded world changes nothing: same posts, same hashes.
    store = Store(get_engine(f"sqlite:///{tmp_path / 'w.db'}"))
    load_world(cfg, store)
    report = ingest_path(tmp_path / "w" / "posts.jsonl", store=store, progress=False)
    assert (report.quarantined, report.new, report.updated, report.unchanged) == (0, 0, 0, 800)


def test_streaming_a_large_world_holds_little_memory():
    # A fresh process, so the peak resident size is the stream's alone (tracemalloc would slow it ~10x).
    script = (
        "import resource, sys\n"
        "from itertools import islice\n"
        "from townsquare.world import WorldConfig, iter_posts\n"
        "stream = iter_posts(WorldConfig(posts=200_000, days=7))\n"
        "n = sum(1 for _ in islice(stream, 20_000))\n"
        "warm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "n += sum(1 for _ in stream)\n"
        "print(n, warm, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    count, warm_kb, end_kb = (int(x) for x in done.stdout.split())
    assert count == 200_000
    assert end_kb - warm_kb < 20_000  # 180k more posts, < 20 MB more at peak (holding them: ~150 MB)


def test_cli_generate_writes_a_world_and_bad_sizes_get_one_line(tmp_path, settings_env, capsys, monkeypatch):
    result = CliRunner().invoke(app, ["world", "generate", "--out", str(tmp_path / "w"), "--authors", "60",
                                      "--posts", "500", "--days", "3", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "500 posts" in result.output and "crisis" in result.output
    assert len((tmp_path / "w" / "posts.jsonl").read_bytes().splitlines()) == 500
    from townsquare.cli import main

    monkeypatch.setattr("sys.argv", ["townsquare", "world", "load", "--posts", "0"])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: posts:") and "\n" not in err
