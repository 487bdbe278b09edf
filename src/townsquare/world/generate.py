"""The sample world's public face: authors, follows, posts and interactions, deterministic for a seed.

    cfg = WorldConfig(seed=7, posts=30_000)
    authors = generate_authors(cfg)           # with interests, active hours and language in `extra`
    follows = generate_follows(cfg)
    for post in iter_posts(cfg): ...          # streaming, in time order, constant memory
    for event in iter_interactions(cfg): ...  # streaming, in time order
    start, end = crisis_window(cfg); crisis_post_ids(cfg)  # ground truth for detection benchmarks
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import lru_cache

from townsquare.schema import Author, Follow, Interaction, Post
from townsquare.world import people as _people
from townsquare.world.config import WorldConfig
from townsquare.world.stream import PostTruth, iter_hours


def generate_authors(cfg: WorldConfig) -> list[Author]:
    """Everyone in the world; `followers` is the number of follows they get in `generate_follows`."""
    return _people.authors(cfg)


def generate_follows(cfg: WorldConfig) -> list[Follow]:
    """Who follows whom: shared interests and language (homophily) times popularity (preferential attachment)."""
    return _people.follows(cfg)


def iter_posts(cfg: WorldConfig) -> Iterator[Post]:
    """Every post in time order, generated on the fly (1M posts never sit in memory together)."""
    for batch in iter_hours(cfg, interactions=False):
        yield from batch.posts


def iter_labelled_posts(cfg: WorldConfig) -> Iterator[tuple[Post, PostTruth]]:
    """Posts with what the generator meant them to be (topic, sentiment, crisis, spam, PII, brand)."""
    for batch in iter_hours(cfg, interactions=False):
        yield from zip(batch.posts, batch.truths, strict=True)


def iter_interactions(cfg: WorldConfig) -> Iterator[Interaction]:
    """Views, likes, reposts, replies, clicks, hides and reports in time order, each after its post."""
    for batch in iter_hours(cfg, interactions=True):
        yield from batch.interactions


def crisis_window(cfg: WorldConfig) -> tuple[datetime, datetime]:
    """When the brand crisis burst runs (start of the ramp to the end of the decay, clipped to the world)."""
    start = cfg.crisis_start
    return start, min(start + timedelta(hours=cfg.crisis_hours), cfg.end)


def distractor_window(cfg: WorldConfig) -> tuple[datetime, datetime]:
    """When the cup-final burst runs: a loud, happy spike that is not a crisis."""
    start = cfg.distractor_start - timedelta(hours=2)
    return start, min(start + timedelta(hours=8), cfg.end)


@lru_cache(maxsize=4)
def crisis_post_ids(cfg: WorldConfig) -> frozenset[str]:
    """Ids of the posts that make up the crisis burst (complaints, "same here" replies, support answers)."""
    if not cfg.crisis:
        return frozenset()
    return frozenset(p.platform_id for p, truth in iter_labelled_posts(cfg) if truth.event == "crisis")


def is_crisis_post(cfg: WorldConfig, post: Post) -> bool:
    return post.platform == cfg.platform and post.platform_id in crisis_post_ids(cfg)

