"""Put a sample world on disk (files any tool can read) or straight into a store (batched, idempotent)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from townsquare.errors import BadInput
from townsquare.schema import Author, Interaction, Post
from townsquare.store import Store, UpsertCounts
from townsquare.world.config import WorldConfig
from townsquare.world.generate import crisis_window, distractor_window, generate_authors, generate_follows
from townsquare.world.stream import PostTruth, iter_hours

_LINE = orjson.OPT_APPEND_NEWLINE


@dataclass
class WorldSummary:
    authors: int = 0
    follows: int = 0
    posts: int = 0
    interactions: int = 0
    seconds: float = 0.0
    post_counts: UpsertCounts = field(default_factory=UpsertCounts)  # load only: new / updated / unchanged

    def line(self, verb: str, where: str) -> str:
        rate = self.posts / self.seconds if self.seconds else 0.0
        return (f"{verb} {self.authors:,} authors, {self.follows:,} follows, {self.posts:,} posts, "
                f"{self.interactions:,} interactions {where} in {self.seconds:.1f} s ({rate:,.0f} posts/s)")


def post_record(p: Post) -> dict:
    """A post in the generic ingest format (`townsquare ingest posts.jsonl` reads it back unchanged)."""
    return {"id": p.platform_id, "text": p.text, "author": p.author_id, "created_at": p.created_at,
            "lang": p.lang, "platform": p.platform, "reply_to": p.reply_to, **p.metrics}


def author_record(a: Author) -> dict:
    return {"id": a.platform_id, "platform": a.platform, "handle": a.handle, "display_name": a.display_name,
            "followers": a.followers, "created_at": a.created_at, "bio": a.bio, "extra": a.extra}


def interaction_record(i: Interaction) -> dict:
    return {"user": i.user_id, "post": i.post_id, "kind": i.kind, "created_at": i.created_at,
            "platform": i.platform}


def label_record(p: Post, t: PostTruth) -> dict:
    return {"id": p.platform_id, **t._asdict()}


def _progress(label: str, enabled: bool) -> Progress:
    console = Console(stderr=True)
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, disable=not (enabled and console.is_terminal))


def write_world(cfg: WorldConfig, out_dir: str | Path, *, progress: bool = False) -> WorldSummary:
    """Write authors.jsonl, follows.tsv, posts.jsonl, interactions.jsonl, labels.jsonl and world.json.

    `labels.jsonl` is the generator's ground truth per post (topic, sentiment, crisis, spam, PII): for
    evaluating, never for ingesting. `world.json` records the config, the counts and the crisis window.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise BadInput("out", f"{out} is a file", "give a folder to write the world into")
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    summary = WorldSummary()
    authors = generate_authors(cfg)
    with open(out / "authors.jsonl", "wb") as f:
        f.write(b"".join(orjson.dumps(author_record(a), option=_LINE) for a in authors))
    summary.authors = len(authors)
    follows = generate_follows(cfg)
    with open(out / "follows.tsv", "w", encoding="utf-8") as f:
        f.write("follower\tfollowee\tcreated_at\n")
        f.writelines(f"{x.follower_id}\t{x.followee_id}\t{x.created_at.isoformat()}\n" for x in follows)
    summary.follows = len(follows)
    with (
        open(out / "posts.jsonl", "wb") as posts_f,
        open(out / "labels.jsonl", "wb") as labels_f,
        open(out / "interactions.jsonl", "wb") as inter_f,
        _progress("writing posts", progress) as bar,
    ):
        task = bar.add_task("posts", total=cfg.posts)
        for batch in iter_hours(cfg):
            posts_f.write(b"".join(orjson.dumps(post_record(p), option=_LINE) for p in batch.posts))
            labels_f.write(b"".join(orjson.dumps(label_record(p, t), option=_LINE)
                                    for p, t in zip(batch.posts, batch.truths, strict=True)))
            inter_f.write(b"".join(orjson.dumps(interaction_record(i), option=_LINE) for i in batch.interactions))
            summary.posts += len(batch.posts)
            summary.interactions += len(batch.interactions)
            bar.advance(task, len(batch.posts))
    summary.seconds = time.perf_counter() - began
    crisis, final = crisis_window(cfg), distractor_window(cfg)
    meta = {
        "config": asdict(cfg),
        "counts": {k: v for k, v in asdict(summary).items() if k not in ("seconds", "post_counts")},
        "crisis_window": list(crisis) if cfg.crisis else None,
        "distractor_window": list(final) if cfg.distractor else None,
        "files": {"authors": "authors.jsonl", "follows": "follows.tsv", "posts": "posts.jsonl",
                  "interactions": "interactions.jsonl", "labels": "labels.jsonl"},
    }
    (out / "world.json").write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2))
    return summary


def load_world(cfg: WorldConfig, store: Store, *, batch_size: int = 5_000, progress: bool = False) -> WorldSummary:
    """Put the world into `store` in batches. Idempotent: loading the same world twice changes nothing.

    Posts are flushed before the interactions that point at them, so every interaction finds its post.
    Returns what was stored: `follows` and `interactions` count new rows, `post_counts` new/updated/unchanged.
    """
    began = time.perf_counter()
    summary = WorldSummary()
    authors = generate_authors(cfg)
    ids = store.upsert_authors(authors)
    summary.authors = len(ids)
    summary.follows = store.add_follows(generate_follows(cfg))
    posts: list[Post] = []
    interactions: list[Interaction] = []

    def flush() -> None:
        summary.post_counts += store.upsert_posts(posts, ids)
        summary.posts += len(posts)
        summary.interactions += store.add_interactions(interactions) if interactions else 0
        posts.clear()
        interactions.clear()

    with _progress("loading posts", progress) as bar:
        task = bar.add_task("posts", total=cfg.posts)
        for hour in iter_hours(cfg):
            posts.extend(hour.posts)
            interactions.extend(hour.interactions)
            if len(posts) >= batch_size:
                bar.advance(task, len(posts))
                flush()
        bar.advance(task, len(posts))
        flush()
    summary.seconds = time.perf_counter() - began
    return summary
