"""Sample-world benchmark: how fast the generator streams posts (and interactions), and how long the default
world takes to load into a fresh SQLite store.

    .venv/bin/python benchmarks/world.py                       # 1,000,000 posts; load the default 30k world
    .venv/bin/python benchmarks/world.py --posts 200000 --no-load

Generation runs in this process after a warm-up of the authors' tables (0.2-0.5 s, cached per config);
peak RSS is `ru_maxrss` of this process, so it covers the whole run (imports, authors, the stream).
The load is `townsquare.world.load_world` (the same code as `townsquare world load`), batch 5,000 posts.

Measured 2026-11-29 on 2 cores of an Intel Xeon (KVM guest) that other jobs were sharing (load average 9-11,
so wall times are ~2.5x the CPU times), Python 3.11.7, numpy 2.4.6, SQLite 3.40:

    posts only, 1,000,000 posts:        31.2 s wall, 12.6 s CPU -> 32,000 posts/s wall, 79,000 posts/s of CPU
    posts + 2,921,167 interactions:     64.4 s wall, 21.2 s CPU -> 47,000 posts/s of CPU, 138,000 interactions/s
    peak RSS of the whole run: 107 MB; posts only: 97 MB after 20k posts, 100 MB after 200k and after 1M
    load the default world (3,000 authors, 61,348 follows, 30,000 posts, 88,456 interactions) into SQLite:
        13.5 s wall (9.3 s in a quieter minute); load it again (nothing new, every post unchanged): 10.3 s
    at load average ~4 (a quieter moment), 200,000 posts streamed at 105,000 posts/s wall (61,000/s with
    interactions).

Target: well over 50,000 posts/s streaming with constant memory; the default world loads in under 30 s.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from townsquare.store import Store  # noqa: E402
from townsquare.store.db import get_engine  # noqa: E402
from townsquare.world import WorldConfig, iter_hours, load_world  # noqa: E402
from townsquare.world.people import people  # noqa: E402


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stream(posts: int, interactions: bool) -> None:
    cfg = WorldConfig(posts=posts)
    people(cfg)
    wall, cpu = time.perf_counter(), time.process_time()
    n_posts = n_inter = 0
    for batch in iter_hours(cfg, interactions=interactions):
        n_posts += len(batch.posts)
        n_inter += len(batch.interactions)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    extra = f", {n_inter:,} interactions ({n_inter / wall:,.0f}/s)" if interactions else ""
    print(f"{'posts + interactions' if interactions else 'posts only'}: {n_posts:,} posts in {wall:.1f} s "
          f"(CPU {cpu:.1f} s) -> {n_posts / wall:,.0f} posts/s{extra}; peak RSS {_rss_mb():.0f} MB", flush=True)


def load(posts: int) -> None:
    cfg = WorldConfig(posts=posts)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(get_engine(f"sqlite:///{Path(tmp) / 'world.db'}"))
        for label in ("load", "load again"):
            s = load_world(cfg, store)
            c = s.post_counts
            print(f"{label}: {s.authors:,} authors, {s.follows:,} new follows, {s.posts:,} posts ({c.new:,} new, "
                  f"{c.unchanged:,} unchanged), {s.interactions:,} new interactions in {s.seconds:.1f} s", flush=True)
        store.engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=1_000_000, help="posts to stream")
    ap.add_argument("--load-posts", type=int, default=30_000, help="posts of the world loaded into SQLite")
    ap.add_argument("--no-load", action="store_true", help="skip the SQLite load")
    args = ap.parse_args()
    stream(args.posts, interactions=False)
    stream(args.posts, interactions=True)
    if not args.no_load:
        load(args.load_posts)


if __name__ == "__main__":
    main()
