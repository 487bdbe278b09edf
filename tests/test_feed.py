"""Live personalised feeds on a real store: candidate sources (one conformance test over all of them), profiles,
filters, the learned ranker, the ANN index, the API and the CLI, and the edge cases the issue names (no history,
follows no one, unknown user, k=0, k=10,000). The world is the project's sample world, analysed by the real
embedder; a PostgreSQL run checks the same path on the other backend."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import func, select, update

from tests.conftest import TOWNSQUARE_BIN
from townsquare.config import get_settings
from townsquare.errors import BadInput, NotFound
from townsquare.recommend import feed as feedmod
from townsquare.recommend.candidates import SOURCES, Context
from townsquare.recommend.feed import MAX_K, FeedItem, FeedService, build_feed, user_profile
from townsquare.recommend.filters import PER_AUTHOR, block, mark_seen
from townsquare.schema import Author, Post
from townsquare.store import Store
from townsquare.store.db import get_engine
from townsquare.store.tables import AnalysisRow, AuthorRow, FollowRow, InteractionRow, PostRow
from townsquare.world import WorldConfig, load_world

CFG = WorldConfig(seed=11, authors=150, posts=2_500, days=10, crisis=False, distractor=False)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A migrated SQLite store with the sample world, a user with no history and a user who follows no one."""
    data = tmp_path_factory.mktemp("feed") / "var"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TOWNSQUARE_DATA_DIR", str(data))
        mp.setenv("TOWNSQUARE_DATABASE_URL", f"sqlite:///{data / 'townsquare.db'}")
        mp.setenv("TOWNSQUARE_FEED_AUTO_TRAIN", "0")
        get_settings.cache_clear()
        store = Store(get_engine(get_settings().resolved_database_url))
        load_world(CFG, store)
        ids = store.upsert_authors([Author("demo", "newbie", "newbie", extra={"interests": ["科技", "运动", "美食"]})])
        feedmod.reset_services()
        yield {"store": store, "newbie": ids[("demo", "newbie")], "env": dict(os.environ)}
        feedmod.reset_services()
        store.engine.dispose()
    get_settings.cache_clear()


@pytest.fixture
def store(world, monkeypatch):
    for name in ("TOWNSQUARE_DATA_DIR", "TOWNSQUARE_DATABASE_URL", "TOWNSQUARE_FEED_AUTO_TRAIN"):
        monkeypatch.setenv(name, world["env"][name])
    get_settings.cache_clear()
    yield world["store"]
    get_settings.cache_clear()


def _busy_user(store: Store) -> int:
    """A user who follows several accounts and engaged the most: every source has something for them."""
    with store.engine.connect() as conn:
        follows = dict(conn.execute(select(FollowRow.follower_id, func.count()).group_by(FollowRow.follower_id)).all())
        engaged = conn.execute(select(InteractionRow.user_id, func.count()).where(
            InteractionRow.kind.in_(["like", "repost", "reply", "click"])).group_by(InteractionRow.user_id)
            .order_by(func.count().desc(), InteractionRow.user_id)).all()
    return next(u for u, _ in engaged if follows.get(u, 0) >= 5)


def _loner(store: Store) -> int:
    """A world user who follows no one (made so: their follows are removed)."""
    with store.engine.begin() as conn:
        uid = conn.execute(select(AuthorRow.id).where(AuthorRow.platform == CFG.platform)
                           .order_by(AuthorRow.id.desc()).limit(1)).scalar()
        conn.execute(FollowRow.__table__.delete().where(FollowRow.follower_id == uid))
    return int(uid)


# ---- candidate sources: one contract, one conformance test ------------------------------------------------------
@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
def test_every_candidate_source_keeps_the_contract(store, source):
    svc = feedmod.get_service(store)
    st = svc.state
    assert st.n > 500 and len(st.ann) == int(st.has_emb.sum()) > 500, "the window's posts were not embedded"
    found = 0
    for user in range(1, 60):
        prof = svc.profile(user)
        got = source.fetch(Context(st, prof, st.t, svc.max_age, svc.ranker.cf or _cf(svc)))
        assert len(got.pos) == len(got.reasons)
        assert got.pos.dtype.kind == "i" and ((got.pos >= 0) & (got.pos < st.n)).all()
        assert all(isinstance(r, str) and 8 < len(r) < 120 for r in got.reasons)
        created = st.created[got.pos]
        assert ((created <= st.t) & (created >= st.t - svc.max_age)).all(), f"{source.name} proposed stale posts"
        found += len(got.pos)
    assert found > 0, f"{source.name} proposed nothing for 59 users"


_CF = {}


def _cf(svc):
    """ALS factors for the collaborative source before any ranker was trained (fitted once per test module)."""
    from townsquare.recommend.learn import fit_cf

    if "cf" not in _CF:
        _CF["cf"] = fit_cf(svc.store, until=svc.state.clock)
    return _CF["cf"]


# ---- the feed --------------------------------------------------------------------------------------------------
def test_a_feed_has_reasons_mixed_sources_and_respects_the_filters(store):
    user = _busy_user(store)
    items = build_feed(store, user, 50)
    assert 20 <= len(items) <= 50
    assert all(isinstance(it, FeedItem) and it.reasons and it.reasons[0] for it in items)
    ids = [it.post_id for it in items]
    assert len(set(ids)) == len(ids)
    svc = feedmod.get_service(store)
    prof = svc.profile(user)
    assert not set(ids) & prof.seen, "already-seen posts came back"
    authors = [it.author_id for it in items]
    assert user not in authors
    assert max(authors.count(a) for a in set(authors)) <= PER_AUTHOR
    assert all(a != b for a, b in zip(authors, authors[1:], strict=False)) or len(set(authors)) < len(authors) // 2
    fresh = svc.state.clock - timedelta(days=feedmod.MAX_AGE_DAYS)
    assert all(fresh <= it.created_at <= svc.state.clock for it in items)
    assert len({it.source for it in items}) >= 2, "one source only: the mixing does nothing"
    followed = set(prof.follows.tolist())
    for it in items:
        if it.source == "in_network":
            assert it.author_id in followed and it.reasons[0].startswith("because you follow @")
    # the chronological baseline: followed authors only, newest first
    chrono = build_feed(store, user, 30, strategy="chronological")
    assert chrono and all(it.author_id in followed for it in chrono)
    times = [it.created_at for it in chrono]
    assert times == sorted(times, reverse=True)
    # a past moment: the feed as it was then (how the ranker is trained and the A/B simulation runs)
    then = svc.state.clock - timedelta(days=2)
    past = build_feed(store, user, 20, now=then)
    assert past and all(it.created_at <= then for it in past)


def test_blocked_seen_and_toxic_posts_leave_the_feed(store):
    user = _busy_user(store)
    svc = feedmod.get_service(store)
    items = build_feed(store, user, 50)
    blocked_author = items[0].author_id
    seen_post = next(it.post_id for it in items if it.author_id != blocked_author)
    toxic_post = next(it.post_id for it in items if it.author_id != blocked_author and it.post_id != seen_post)
    assert block(store, user, blocked_author, "mute")
    assert mark_seen(store, user, [seen_post]) == 1
    with store.engine.begin() as conn:
        conn.execute(update(AnalysisRow).where(AnalysisRow.post_id == toxic_post).values(toxicity=0.97))
    feedmod.reset_services()  # toxicity is read when the window loads
    svc = feedmod.get_service(store)
    after = build_feed(store, user, 50)
    assert blocked_author not in {it.author_id for it in after}
    assert seen_post not in {it.post_id for it in after} and toxic_post not in {it.post_id for it in after}
    with pytest.raises(BadInput, match="post_ids"):
        mark_seen(store, user, [10**9])
    with pytest.raises(BadInput, match="target_id"):
        block(store, user, user)
    svc.forget(user)


def test_profiles_read_history_interests_across_languages_follows_and_hours(store, world):
    user = _busy_user(store)
    p = user_profile(store, user)
    assert p["interest_vector"]["from"] in ("engaged", "both") and p["interest_vector"]["dim"] == 512
    assert p["follows"] > 0 and p["history"]["engaged"] > 0 and p["top_topics"]
    assert p["active_hours"] and p["active_hours_source"] == "declared"  # the world declares hours
    assert p["langs"]
    new = user_profile(store, world["newbie"])
    assert new["interest_vector"]["from"] == "none" and new["follows"] == 0 and new["active_hours"] == []
    # 科技 / 运动 / 美食 land on the catalogue's tech / sports / food through the multilingual embedder
    assert [(d["label"], d["topic"]) for d in new["declared_interests"]] == [
        ("科技", "tech"), ("运动", "sports"), ("美食", "food")]


def test_edge_cases_no_history_follows_no_one_unknown_user_and_k(store, world):
    # no history and no follows: declared interests and trending still give a feed, every item explained
    items = build_feed(store, world["newbie"], 20)
    assert items and all(it.reasons for it in items)
    assert {it.source for it in items} <= {"similar", "trending"}
    assert any("科技" in r or "运动" in r or "美食" in r for it in items for r in it.reasons)
    # follows no one: no in-network items, still a feed
    loner = _loner(store)
    feedmod.get_service(store).forget(loner)
    items = build_feed(store, loner, 30)
    assert items and not any(it.source == "in_network" for it in items)
    assert build_feed(store, loner, 10, strategy="chronological") == []
    with pytest.raises(NotFound, match="user_id"):
        build_feed(store, 10**8, 10)
    with pytest.raises(BadInput, match="^k: "):
        build_feed(store, loner, 0)
    assert len(build_feed(store, _busy_user(store), 10_000)) <= MAX_K  # capped, not an error, in the library
    with pytest.raises(BadInput, match="strategy"):
        build_feed(store, loner, 5, strategy="random")


def test_new_posts_reach_the_index_and_followers_feeds(store):
    user = _busy_user(store)
    svc = feedmod.get_service(store)
    st = svc.state
    followee = int(svc.profile(user).follows[0])
    with store.engine.connect() as conn:
        platform_id = conn.execute(select(AuthorRow.platform_id).where(AuthorRow.id == followee)).scalar()
    at = st.clock + timedelta(minutes=5)
    ids = store.ensure_authors({(CFG.platform, platform_id)})
    store.upsert_posts([Post(CFG.platform, "fresh-1", "New phone review: the battery lasts two days, the camera "
                             "is superb and the price is fair", at, author_id=platform_id, lang="en")], ids)
    before = len(st.ann)
    added, _ = st.refresh()  # what the live service does in the background every few seconds
    assert added == 1 and len(st.ann) == before + 1, "the new post was not analysed and indexed"
    with store.engine.connect() as conn:
        new_id = conn.execute(select(PostRow.id).where(PostRow.platform_id == "fresh-1")).scalar()
    pos = int(st.index_of(np.array([new_id]))[0])
    _, found = st.ann.search(st.vectors(np.array([pos])), 1)
    assert found[0][0] == pos  # the index answers with the new post for its own vector
    svc.forget(user)
    items = svc.feed(user, 50)
    assert new_id in {it.post_id for it in items}, "a followed author's newest post is missing from the feed"


def test_ann_index_recall_against_brute_force_and_updates():
    from townsquare.recommend.ann import AnnIndex, brute_force, recall_at

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(40, 64)).astype(np.float32)
    x = centres[rng.integers(0, 40, 30_000)] + rng.normal(0, 0.6, (30_000, 64)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = np.arange(30_000) * 3  # the caller's own ids
    ann = AnnIndex(64, ivf_from=10_000).build(x, ids)
    assert ann.kind.startswith("IVF")
    q = x[rng.choice(30_000, 100, replace=False)]
    _, approx = ann.search(q, 50)
    _, exact = brute_force(x, ids, q, 50)
    assert recall_at(approx, exact) >= 0.9
    extra = rng.normal(size=(1, 64)).astype(np.float32)
    extra /= np.linalg.norm(extra)
    ann.add(extra, np.array([999_999]))
    assert ann.search(extra, 1)[1][0][0] == 999_999
    assert AnnIndex(64).search(extra, 5)[1].shape == (1, 0)  # empty index: an empty answer


def test_training_learns_a_ranker_that_beats_the_stand_in(store, tmp_path):
    from townsquare.recommend.learn import train
    from townsquare.recommend.ranker import FEATURES, Ranker

    assert "now_in_active_hours" in FEATURES and "post_in_active_hours" in FEATURES
    report = train(store, days=3, users_per_day=120, folder=tmp_path / "ranker")
    assert report.examples > 1_000 and report.positives > 20, report.lines()
    assert report.validation_auc is not None and report.validation_auc > 0.6
    assert report.validation_auc >= report.heuristic_auc - 0.02, report.lines()
    assert set(report.feeds) == {"ranked", "chronological"}
    ranker = Ranker.load(tmp_path / "ranker")
    assert ranker.kind == "learned" and ranker.cf is not None
    svc = FeedService(store, ranker=ranker, auto_train=False)
    items = svc.feed(_busy_user(store), 20)
    assert items and all(0.0 <= it.score <= 1.0 for it in items)
    assert Ranker.load(tmp_path / "nothing-here").kind == "heuristic"


# ---- API ---------------------------------------------------------------------------------------------------------
@pytest.fixture
def client(store):
    from fastapi.testclient import TestClient

    from townsquare.api import create_app

    app = create_app(get_settings())
    with TestClient(app) as c:
        _, raw = app.state.keys.create("analyst", "feed test")
        c.headers["Authorization"] = f"Bearer {raw}"
        yield c


def test_api_feed_profile_and_edge_cases(client, store, world):
    user = _busy_user(store)
    r = client.get(f"/users/{user}/feed", params={"k": 25})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == len(body["items"]) and 10 <= body["count"] <= 25
    first = body["items"][0]
    assert first["text"] and first["author"] and first["reasons"] and first["source"]
    assert client.get(f"/users/{user}/profile").json()["user_id"] == user
    assert client.get(f"/users/{world['newbie']}/feed").status_code == 200
    missing = client.get("/users/123456789/feed")
    assert missing.status_code == 404 and "user_id" in missing.json()["error"]
    assert client.get("/users/123456789/profile").status_code == 404
    for k in (0, 10_000):
        bad = client.get(f"/users/{user}/feed", params={"k": k})
        assert bad.status_code == 422 and bad.json()["error"].startswith("k"), bad.text
    assert client.get(f"/users/{user}/feed", params={"strategy": "random"}).status_code == 422
    chrono = client.get(f"/users/{user}/feed", params={"k": 10, "strategy": "chronological"}).json()
    assert chrono["strategy"] == "chronological" and all(i["source"] == "in_network" for i in chrono["items"])
    empty = client.get(f"/users/{_loner(store)}/feed", params={"strategy": "chronological"}).json()
    assert empty["count"] == 0 and f"the 3 days before the store's clock, {empty['clock'][:10]}" in empty["note"]
    assert client.get("/recommend/users", params={"q": "newbie"}).json()["users"][0]["id"] == world["newbie"]
    assert client.get("/recommend/status").json()["posts_in_window"] > 500
    client.headers.pop("Authorization")
    assert client.get(f"/users/{user}/feed").status_code == 401


def test_a_one_shot_cli_feed_leaves_no_training_thread_behind(store, monkeypatch):
    """An untrained store: `townsquare feed USER` must not start background training that exit would cut off
    ("training the ranker failed ... can't register atexit after shutdown")."""
    import threading

    from typer.testing import CliRunner

    from townsquare.cli import app
    from townsquare.recommend.ranker import Ranker

    assert Ranker.load().kind == "heuristic"  # the case that used to start training
    monkeypatch.setenv("TOWNSQUARE_FEED_AUTO_TRAIN", "1")
    feedmod.reset_services()
    try:
        r = CliRunner().invoke(app, ["feed", str(_busy_user(store)), "--k", "3"])
        assert r.exit_code == 0, r.output
        assert not any(t.name == "townsquare-feed-train" for t in threading.enumerate())
        assert not feedmod.get_service(store).training
    finally:
        feedmod.reset_services()


def test_cli_shows_a_feed_with_reasons_and_one_line_errors(store, world):
    env = {**os.environ, **world["env"]}
    user = _busy_user(store)
    r = subprocess.run([str(TOWNSQUARE_BIN), "feed", str(user), "--k", "5", "--profile"], capture_output=True,
                       text=True, timeout=180, env=env)
    assert r.returncode == 0, r.stderr
    assert " 1. " in r.stdout and "interests:" in r.stdout and ("because" in r.stdout or "similar" in r.stdout)
    r = subprocess.run([str(TOWNSQUARE_BIN), "feed", "@nobody-here"], capture_output=True, text=True, timeout=120,
                       env=env)
    assert r.returncode == 1 and "USER" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([str(TOWNSQUARE_BIN), "feed", str(user), "--k", "0"], capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 1 and r.stderr.count("\n") <= 2 and "k:" in r.stderr
    r = subprocess.run([str(TOWNSQUARE_BIN), "feed", "train", "--days", "3", "--users", "60"], capture_output=True,
                       text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    assert "validation AUC" in r.stdout and "saved to" in r.stdout, r.stdout
    r = subprocess.run([str(TOWNSQUARE_BIN), "feed", str(user), "--k", "3", "--json"], capture_output=True,
                       text=True, timeout=180, env=env)
    assert r.returncode == 0 and '"ranker": "learned"' in r.stdout, r.stdout[-500:] + r.stderr


# ---- PostgreSQL -----------------------------------------------------------------------------------------------
def test_the_same_feed_path_on_postgresql(monkeypatch, tmp_path):
    from tests.pg import fresh_postgres_database

    with fresh_postgres_database() as url:
        monkeypatch.setenv("TOWNSQUARE_DATA_DIR", str(tmp_path / "var"))
        monkeypatch.setenv("TOWNSQUARE_DATABASE_URL", url)
        get_settings.cache_clear()
        store = Store(get_engine(url))
        cfg = WorldConfig(seed=5, authors=60, posts=800, days=6, crisis=False, distractor=False)
        load_world(cfg, store)
        try:
            svc = FeedService(store, auto_train=False)
            user = _busy_user(store)
            items = svc.feed(user, 30)
            assert items and all(it.reasons for it in items)
            assert svc.profile(user).vector is not None
            with pytest.raises(NotFound):
                svc.feed(10**8, 5)
        finally:
            feedmod.reset_services()
            get_settings.cache_clear()
