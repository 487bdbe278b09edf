"""A deterministic sample world for the demo, tests and benchmarks: authors with interests and online hours,
a follow graph, English and Chinese posts over weeks, interactions, and a brand crisis to detect.

    from townsquare.world import WorldConfig, iter_posts, load_world
    for post in iter_posts(WorldConfig(seed=7, posts=1_000_000)): ...
"""

from townsquare.world.config import WorldConfig
from townsquare.world.generate import (
    crisis_post_ids,
    crisis_window,
    distractor_window,
    generate_authors,
    generate_follows,
    is_crisis_post,
    iter_interactions,
    iter_labelled_posts,
    iter_posts,
)
from townsquare.world.io import WorldSummary, load_world, write_world
from townsquare.world.stream import HourBatch, PostTruth, iter_hours

__all__ = [
    "HourBatch", "PostTruth", "WorldConfig", "WorldSummary", "crisis_post_ids", "crisis_window",
    "distractor_window", "generate_authors", "generate_follows", "is_crisis_post", "iter_hours",
    "iter_interactions", "iter_labelled_posts", "iter_posts", "load_world", "write_world",
]
