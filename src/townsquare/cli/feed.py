"""`townsquare feed USER`: one user's live feed with reasons; `feed train`: fit the feed ranker on the store's
interactions; `feed batch`: train on interactions (+ a friend graph) and write everyone's top-k as a TSV."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from townsquare.cli import app, console, plural
from townsquare.cli.files import open_output, shown, status_console
from townsquare.errors import BadInput


class _FeedGroup(typer.core.TyperGroup):
    """`townsquare feed 42` means `townsquare feed show 42`: a first word that is no subcommand is a user."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["show", *args]
        return super().parse_args(ctx, args)


feed_app = typer.Typer(help="Personalised feeds: `townsquare feed USER`, `feed train`, `feed batch`.",
                       no_args_is_help=True, cls=_FeedGroup)
app.add_typer(feed_app, name="feed")
out = console(highlight=False, soft_wrap=True)


@feed_app.command("batch")
def batch(
    interactions: Path = typer.Option(..., "--interactions", "-i",
                                      help="TSV of user<TAB>item<TAB>weight (weight optional; header optional)."),
    follows: Path = typer.Option(None, "--follows", "-f", help="TSV of user<TAB>friend (header optional)."),
    k: int = typer.Option(20, "--k", help="Items per user."),
    output: str = typer.Option(..., "--output", "-o", help="Where to write user<TAB>item<TAB>rank (rank 1 = best); "
                               "- for standard output."),
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
    started = time.perf_counter()
    data = read_interactions(interactions)
    social = read_social(follows, data.users) if follows else None
    n_users, n_items = data.matrix.shape
    say = status_console(output, out)
    show = progress and say.is_terminal
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=say, disable=not show, transient=True) as bar:
        task = bar.add_task(f"training {model} on {data.matrix.nnz:,} interactions", total=None)
        recommender = MODELS[model]().fit(data.matrix, social)
        bar.update(task, description="writing recommendations", total=n_users, completed=0)
        written = 0
        with open_output(output, example="recs.tsv") as fh:
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
    say.print(f"wrote {plural(written, 'recommendation')} for {plural(n_users, 'user')} "
              f"({plural(n_items, 'item')}{friends}) "
              f"with {model} to {shown(output)} in {time.perf_counter() - started:.1f} s")
    if written < n_users * k:
        say.print(f"{n_users * k - written:,} slots left empty: those users have fewer than {k} unseen items to offer")


def _resolve_user(store, user: str) -> int:
    """A numeric store id, or a handle (with or without @)."""
    from sqlalchemy import func, select

    from townsquare.errors import NotFound
    from townsquare.store.tables import AuthorRow

    if user.isdigit():
        return int(user)
    handle = user.lstrip("@")
    with store.engine.connect() as conn:
        found = conn.execute(select(AuthorRow.id).where(func.lower(AuthorRow.handle) == handle.lower())
                             .order_by(AuthorRow.id).limit(1)).scalar()
    if found is None:
        raise NotFound(f"USER: no user with handle @{handle} — pass a store id or an existing handle")
    return int(found)


@feed_app.command("show")
def show(
    user: str = typer.Argument(..., help="The user's store id or @handle."),
    k: int = typer.Option(20, "--k", help="Items to show (1-500)."),
    strategy: str = typer.Option("ranked", "--strategy", help="ranked (full pipeline) or chronological."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (feed and profile) instead of a table."),
    profile: bool = typer.Option(False, "--profile", help="Also print what the feed is built from."),
) -> None:
    """A user's feed from the store, each item with its reason (`townsquare feed 42` works too)."""
    from townsquare.config import get_settings
    from townsquare.recommend.feed import build_feed, check_k, empty_note, get_service, user_profile
    from townsquare.store import Store
    from townsquare.store.db import get_engine
    from townsquare.store.tables import PostRow

    check_k(k)
    store = Store(get_engine(get_settings().resolved_database_url))
    user_id = _resolve_user(store, user)
    svc = get_service(store, auto_train=False)  # no background training: this process ends after one feed
    items = build_feed(store, user_id, k, strategy=strategy)
    prof = user_profile(store, user_id)
    from sqlalchemy import select

    ids = [it.post_id for it in items]
    with store.engine.connect() as conn:
        texts = dict(conn.execute(select(PostRow.id, PostRow.text).where(PostRow.id.in_(ids))).all()) if ids else {}
    if as_json:
        rows = [{"post_id": it.post_id, "score": it.score, "reasons": it.reasons, "source": it.source,
                 "promoted": it.promoted, "author_id": it.author_id,
                 "created_at": it.created_at.isoformat() + "Z" if it.created_at else None,
                 "text": texts.get(it.post_id, "")} for it in items]
        out.print_json(json.dumps({"user_id": user_id, "strategy": strategy, "ranker": svc.ranker.kind,
                                   "items": rows, "profile": prof}, ensure_ascii=False))
        return
    st = svc.state
    out.print(f"@{prof['handle']} (id {user_id}) · {strategy} feed of {len(items)} at {prof['clock']} "
              f"· ranker: {svc.ranker.kind}")
    if profile:
        interests = ", ".join(f"{d['label']} → {d['topic']}" if d["topic"] and d["topic"] != d["label"] else d["label"]
                              for d in prof["declared_interests"]) or "none"  # as the Recommend page shows them
        out.print(f"  interests: {interests} · follows {prof['follows']} · languages {', '.join(prof['langs']) or '?'}"
                  f" · active hours (UTC) {prof['active_hours']} ({prof['active_hours_source']})"
                  f" · history {prof['history']['written']} written, {prof['history']['engaged']} engaged")
    if not items:
        out.print(empty_note(svc))
    for n, it in enumerate(items, 1):
        handle = st.handles[it.author_id] if it.author_id is not None and it.author_id < len(st.handles) else "?"
        text = " ".join(texts.get(it.post_id, "").split())
        mark = " [promoted]" if it.promoted else ""
        out.print(f"{n:>3}. {it.score:.3f} @{handle}: {text[:90]}{mark}")
        out.print(f"     {' · '.join(it.reasons)}", style="dim")


@feed_app.command("train")
def train_cmd(
    days: int = typer.Option(5, "--days", min=2, max=60, help="Daily snapshots to learn from (the newest validates)."),
    users_per_day: int = typer.Option(400, "--users", min=10, help="Users sampled per snapshot."),
) -> None:
    """Fit the feed ranker on the store's interactions and save it (see the report it prints)."""
    from townsquare.config import get_settings
    from townsquare.recommend.feed import reset_services
    from townsquare.recommend.learn import train
    from townsquare.store import Store
    from townsquare.store.db import get_engine

    store = Store(get_engine(get_settings().resolved_database_url))
    report = train(store, days=days, users_per_day=users_per_day,
                   on_step=lambda msg: out.print(msg, style="dim") if out.is_terminal else None)
    reset_services()
    for line in report.lines():
        out.print(line)
