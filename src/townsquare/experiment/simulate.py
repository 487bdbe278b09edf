"""A simulated A/B test on the demo world: the ranked feed against the chronological one.

Nothing here is observed behaviour. Each sampled user is assigned an arm by hashing, gets that arm's real feed from
`townsquare.recommend.feed` at the store's clock, and their reactions are then *drawn* from the sample world's own
engagement model (`townsquare.world.stream`), the same one that generated the stored interactions:

- the user looks at the item at rank r (0-based) with probability 0.85^r (position bias: about 6 of 20 items);
- a looked-at item draws one reaction from the world's table for who the user is to the post — "close" (follows the
  author, or has the post's topic among their interests and shares its language), a stranger, anyone on spam, anyone
  on the crisis — view only, like, repost, click, hide or report;
- like, repost and click count as an engagement; hide and report as a hide (the guardrail).

The post's topic comes from the generator's ground truth (regenerated from the world's seed), never from the
recommender's own estimate, so the ranker is not graded by its own model of the user.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import func, select

from townsquare.errors import BadInput
from townsquare.experiment.assign import Arm
from townsquare.experiment.log import create_experiment, get_experiment, log_exposures, log_outcomes
from townsquare.store import Store
from townsquare.store.tables import AuthorRow, PostRow

log = logging.getLogger(__name__)

DEMO_NAME = "feed-ranker-simulated"
ARMS = (Arm("chronological", 0.5), Arm("ranked", 0.5))  # the first arm is the control
METRICS = ({"name": "engaged", "kind": "rate", "event": "engagement"},
           {"name": "engagements", "kind": "mean", "event": "engagement"},
           {"name": "hides", "kind": "mean", "event": "hide"})
LOOK_DECAY = 0.85
ENGAGE_KINDS = (1, 2, 3)  # like, repost, click in the world's KIND_CDF columns
HIDE_KINDS = (4, 5)  # hide, report
TRUTH_DAYS = 4  # feeds show posts up to 3 days old: truths older than this are not kept


def _truths(cfg, since: datetime) -> dict[str, tuple[str | None, bool, bool, int]]:
    """platform_id -> (topic, spam, crisis, author index) for posts created after `since`, from the generator."""
    from townsquare.world.people import people
    from townsquare.world.stream import iter_hours

    pp = people(cfg)
    index = {pid: i for i, pid in enumerate(pp.pids)}
    out, texts = {}, {}
    first = max(0, int((since - cfg.start).total_seconds() // 3600))
    for batch in iter_hours(cfg, interactions=False):
        if batch.hour < first:
            continue
        for p, t in zip(batch.posts, batch.truths, strict=True):
            out[p.platform_id] = (t.topic, t.spam, t.event == "crisis", index.get(p.author_id, -1))
            if len(out) % 97 == 1:
                texts[p.platform_id] = p.text
    return out, texts


def _check_world(store: Store, cfg, texts: dict[str, str]) -> None:
    """The stored posts must be this world's (same seed and shape), or its truths would grade the wrong posts."""
    p = PostRow.__table__.c
    with store.engine.connect() as conn:
        stored = dict(conn.execute(select(p.platform_id, p.text).where(
            p.platform == cfg.platform, p.platform_id.in_(list(texts)))).all()) if texts else {}
    same = sum(stored.get(k) == v for k, v in texts.items())
    if same < 0.9 * len(texts):
        raise BadInput("world", f"the stored {cfg.platform!r} posts are not those of the world asked for (seed "
                       f"{cfg.seed}, {cfg.posts:,} posts, {cfg.authors:,} authors, {cfg.days} days): {same} of "
                       f"{len(texts)} sampled posts match", "pass the loaded world's --seed, --posts and --authors")


def _row(pp, user: int, truth: tuple, follows: set[tuple[int, int]]) -> int:
    """Which row of the world's reaction table applies: 0 close, 1 stranger, 2 spam, 3 crisis."""
    from townsquare.world.vocab import TOPICS

    topic, spam, crisis, author = truth
    if spam:
        return 2
    if crisis:
        return 3
    if (user, author) in follows:
        return 0
    if topic is not None and author >= 0 and pp.lang[user] == pp.lang[author] and \
            TOPICS.index(topic) in pp.interests[user]:
        return 0
    return 1


def simulate_feed_test(store: Store, cfg=None, *, name: str = DEMO_NAME, users: int = 1_000, k: int = 20,
                       seed: int = 0, replace: bool = True, progress=None) -> dict:
    """Run the simulated test and log it as experiment `name`; returns a summary (the report has the numbers)."""
    from townsquare.recommend.feed import FeedService
    from townsquare.world import WorldConfig
    from townsquare.world.people import PERSON, people
    from townsquare.world.stream import KIND_CDF

    cfg = cfg or WorldConfig()
    if not 10 <= users <= 100_000:
        raise BadInput("users", f"{users} users", "simulate 10 to 100,000 users, e.g. 1000")
    if not 1 <= k <= 200:
        raise BadInput("k", f"{k} items", "show 1 to 200 items per feed, e.g. 20")
    started = time.perf_counter()
    a, p = AuthorRow.__table__.c, PostRow.__table__.c
    with store.engine.connect() as conn:
        ids = {pid: i for pid, i in conn.execute(select(a.platform_id, a.id).where(a.platform == cfg.platform))}
        stored = conn.execute(select(func.count()).select_from(PostRow).where(p.platform == cfg.platform)).scalar()
    pp = people(cfg)
    if len(ids) != pp.n or stored != cfg.posts:  # another world's truths would grade the wrong posts
        raise BadInput("world", f"the store holds {len(ids):,} authors and {stored:,} posts on platform "
                       f"{cfg.platform!r}, not the world asked for ({pp.n:,} authors, {cfg.posts:,} posts, seed "
                       f"{cfg.seed})", "load that world first (`townsquare world load` with the same --seed, "
                       "--posts and --authors), or pass the loaded world's numbers")
    people_ix = [i for i in np.flatnonzero(pp.kind == PERSON).tolist() if pp.pids[i] in ids]
    rng = np.random.default_rng(seed)
    sample = sorted(rng.choice(people_ix, min(users, len(people_ix)), replace=False).tolist())
    svc = FeedService(store, auto_train=False)  # its own service: the ranker cannot change mid-test
    clock = svc.state.clock
    truths, texts = _truths(cfg, clock.replace(tzinfo=UTC) - timedelta(days=TRUTH_DAYS))
    _check_world(store, cfg, texts)
    follows = set(zip(pp.follow_src.tolist(), pp.follow_dst.tolist(), strict=True))
    meta = {"simulated": True, "kind": "feed", "world": {"seed": cfg.seed, "posts": cfg.posts,
                                                         "authors": cfg.authors, "platform": cfg.platform},
            "clock": clock.isoformat() + "Z", "k": k, "users_sampled": len(sample), "seed": seed,
            "ranker": svc.ranker.kind, "look_decay": LOOK_DECAY,
            "note": "Outcomes are simulated, not observed: each user's real feed (ranked or chronological) at the "
                    "store's clock, with reactions drawn from the demo world's own engagement model (position-"
                    "biased looks, 0.85^rank; the world's reaction table for close/stranger/spam/crisis)."}
    exp = get_experiment(store, name)
    if exp is not None and not replace:
        raise BadInput("name", f"experiment {name!r} exists", "delete it first, or call with replace=True (the CLI and API always replace)")
    exp = create_experiment(store, name, ARMS, METRICS, replace=True, meta=meta,
                            description="Ranked feed (treatment) against the chronological feed of followed "
                                        "authors (control), on the demo world. Simulated outcomes.")
    pid_of: dict[int, str] = {}
    engagements, hides = [], []
    shown = {arm.name: [] for arm in ARMS}
    unknown = 0
    for n, person in enumerate(sample):
        uid = ids[pp.pids[person]]
        arm = exp.arm_of(uid)
        items = svc.feed(uid, k, strategy=arm, mix=False)
        shown[arm].append(len(items))
        need = [it.post_id for it in items if it.post_id not in pid_of]
        if need:
            with store.engine.connect() as conn:
                pid_of.update(conn.execute(select(p.id, p.platform_id).where(p.id.in_(need))).all())
        r = np.random.default_rng([seed, uid])
        looks = r.random(len(items)) < LOOK_DECAY ** np.arange(len(items))
        draws = r.random(len(items))
        eng = hid = 0
        for it, looked, u in zip(items, looks.tolist(), draws.tolist(), strict=True):
            truth = truths.get(pid_of.get(it.post_id, ""))
            if truth is None:  # not a world post (or older than the truths kept): a stranger's everyday post
                unknown += 1
                truth = (None, False, False, -1)
            if not looked:
                continue
            kind = int((u > KIND_CDF[_row(pp, person, truth, follows)]).sum())
            eng += kind in ENGAGE_KINDS
            hid += kind in HIDE_KINDS
        if eng:
            engagements.append((uid, "engagement", float(eng)))
        if hid:
            hides.append((uid, "hide", float(hid)))
        if progress:
            progress(n + 1, len(sample))
    log_exposures(store, exp, [ids[pp.pids[i]] for i in sample], at=clock)
    log_outcomes(store, exp, engagements + hides, at=clock)
    feed_len = {arm: round(float(np.mean(v)), 2) if v else None for arm, v in shown.items()}
    meta |= {"mean_feed_length": feed_len, "items_without_truth": unknown,
             "seconds": round(time.perf_counter() - started, 1)}
    from townsquare.store.tables import ExperimentRow

    with store.engine.begin() as conn:  # the run's own numbers join the recipe
        conn.execute(ExperimentRow.__table__.update().where(ExperimentRow.id == exp.id).values(meta=meta))
    return {"name": name, "users": len(sample), "engagement_events": len(engagements), **meta}


def prepare_demo(store: Store, cfg, users: int = 1_000) -> str:
    """For `serve --demo`: run the simulated test once per world (a restart finds it and skips it)."""
    exp = get_experiment(store, DEMO_NAME)
    world = {"seed": cfg.seed, "posts": cfg.posts, "authors": cfg.authors, "platform": cfg.platform}
    if exp is not None and exp.meta.get("world") == world and exp.meta.get("users_sampled"):
        return f"experiment: simulated A/B test {DEMO_NAME!r} already run ({exp.meta['users_sampled']:,} users)"
    users = max(10, min(users, cfg.authors // 2))
    try:
        s = simulate_feed_test(store, cfg, users=users)
    except Exception as exc:  # noqa: BLE001 - the demo serves without it; the page offers to run it
        log.exception("experiment: the simulated demo test failed")
        return f"experiment: simulated A/B test skipped ({type(exc).__name__}: {exc})"
    return (f"experiment: simulated A/B test {DEMO_NAME!r} (ranked vs chronological, {s['users']:,} users, "
            f"outcomes simulated from the world's engagement model) in {s['seconds']:.0f} s")


def demo_world(seed: int | None = None, posts: int | None = None, authors: int | None = None):
    """The world to simulate on: as given, else the one `serve --demo` loaded (its marker file), else the default."""
    import orjson

    from townsquare.cli.serve import DEMO_WORLD_FILE, _demo_config  # one definition of the demo's world
    from townsquare.config import get_settings
    from townsquare.world import WorldConfig

    marker = get_settings().data_dir / DEMO_WORLD_FILE
    if seed is None and posts is None and authors is None and marker.exists():
        return _demo_config(orjson.loads(marker.read_text()).get("posts"))
    return WorldConfig(seed=7 if seed is None else seed, posts=posts or 30_000, authors=authors or 3_000)
