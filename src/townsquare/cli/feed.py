"""`townsquare feed batch`: train on interactions (+ a friend graph) and write everyone's top-k as a TSV."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from townsquare.cli import app
from townsquare.errors import BadInput

feed_app = typer.Typer(help="Recommendation feeds.", no_args_is_help=True)
app.add_typer(feed_app, name="feed")
out = Console(highlight=False, soft_wrap=True)


@feed_app.command("batch")
def batch(
    interactions: Path = typer.Option(..., "--interactions", "-i",
                                      help="TSV of user<TAB>item<TAB>weight (weight optional; header optional)."),
    follows: Path = typer.Option(None, "--follows", "-f", help="TSV of user<TAB>friend (header optional)."),
    k: int = typer.Option(20, "--k", help="Items per user."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write user<TAB>item<TAB>rank (rank 1 = best)."),
    model: str = typer.Option("townsquare", "--model", help="townsquare, popularity, itemknn, ease, rp3beta, als, bpr."),
    header: bool = typer.Option(True, "--header/--no-header", help="Write a `user item rank` header line."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress on a terminal."),
) -> None:
    """Train on every interaction given and write each user's top-k unseen items; a training pair is never repeated."""
    from townsquare.recommend import MODELS, read_interactions, read_social

    if k < 1:
        raise BadInput("--k", f"{k} is not a positive number of items", "pass e.g. --k 20")
    if model not in MODELS:
        raise BadInput("--model", f"unknown model {model!r}", f"choose one of {', '.join(MODELS)}")
    if output.exists() and output.is_dir():
        raise BadInput("--output", f"{output} is a folder", "pass a file path such as recs.tsv")
    started = time.perf_counter()
    data = read_interactions(interactions)
    social = read_social(follows, data.users) if follows else None
    n_users, n_items = data.matrix.shape
    show = progress and out.is_terminal
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=out, disable=not show, transient=True) as bar:
        task = bar.add_task(f"training {model} on {data.matrix.nnz:,} interactions", total=None)
        recommender = MODELS[model]().fit(data.matrix, social)
        bar.update(task, description="writing recommendations", total=n_users, completed=0)
        written = 0
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("w", encoding="utf-8") as fh:
            if header:
                fh.write("user\titem\trank\n")
            step = 1024
            for start in range(0, n_users, step):
                users = np.arange(start, min(start + step, n_users))
                items, _ = recommender.recommend(users, k, exclude_seen=True)
                lines = [f"{data.users[u]}\t{data.items[i]}\t{rank}\n"
                         for u, row in zip(users, items, strict=True)
                         for rank, i in enumerate(row[row >= 0].tolist(), 1)]
                fh.writelines(lines)
                written += len(lines)
                bar.update(task, advance=len(users))
    friends = f", {social.nnz // 2:,} friendships" if social is not None else ""
    out.print(f"wrote {written:,} recommendations for {n_users:,} users ({n_items:,} items{friends}) "
              f"with {model} to {output} in {time.perf_counter() - started:.1f} s")
    if written < n_users * k:
        out.print(f"{n_users * k - written:,} slots left empty: those users have fewer than {k} unseen items to offer")
