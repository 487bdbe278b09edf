"""`townsquare world generate|load`: the deterministic sample world, as files or straight into the store."""

from __future__ import annotations

from pathlib import Path

import typer

from townsquare.cli import app, console

world_app = typer.Typer(help="Sample world: generate it as files, or load it into the store.", no_args_is_help=True)
app.add_typer(world_app, name="world")
out = console(highlight=False, soft_wrap=True)

_SEED = typer.Option(7, "--seed", help="Same seed, same world.")
_AUTHORS = typer.Option(3_000, "--authors", help="How many authors.")
_POSTS = typer.Option(30_000, "--posts", help="How many posts (benchmarks ask for 1000000).")
_DAYS = typer.Option(28, "--days", help="How many days the posts span.")
_PROGRESS = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on a terminal.")


def _crisis(cfg) -> str:
    from townsquare.world import crisis_window

    if not cfg.crisis:
        return "no crisis"
    start, end = crisis_window(cfg)
    return f"crisis {start:%Y-%m-%d %H:%M}–{end:%Y-%m-%d %H:%M} UTC"


@world_app.command("generate")
def generate(
    out_dir: Path = typer.Option(..., "--out", help="Folder to write authors, follows, posts, interactions into."),
    seed: int = _SEED, authors: int = _AUTHORS, posts: int = _POSTS, days: int = _DAYS, progress: bool = _PROGRESS,
) -> None:
    """Write a sample world as files: posts.jsonl is ready for `townsquare ingest`."""
    from townsquare.world import WorldConfig, write_world  # numpy & co. load only when a world is asked for

    cfg = WorldConfig(seed=seed, authors=authors, posts=posts, days=days)
    summary = write_world(cfg, out_dir, progress=progress)
    out.print(summary.line("wrote", f"to {out_dir}") + f"; {_crisis(cfg)}")


@world_app.command("load")
def load(
    seed: int = _SEED, authors: int = _AUTHORS, posts: int = _POSTS, days: int = _DAYS, progress: bool = _PROGRESS,
) -> None:
    """Load a sample world into the configured store; loading it again changes nothing."""
    from townsquare.store import Store
    from townsquare.world import WorldConfig, load_world

    cfg = WorldConfig(seed=seed, authors=authors, posts=posts, days=days)
    store = Store()
    summary = load_world(cfg, store, progress=progress)
    c = summary.post_counts
    where = store.engine.url.render_as_string(hide_password=True)
    out.print(f"loaded world (seed {seed}) into {where}: {summary.authors:,} authors, {summary.follows:,} new follows, "
              f"{summary.posts:,} posts ({c.new:,} new, {c.updated:,} updated, {c.unchanged:,} unchanged), "
              f"{summary.interactions:,} new interactions in {summary.seconds:.1f} s; {_crisis(cfg)}")
