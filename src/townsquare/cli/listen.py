"""Listen commands: `townsquare watch add|list|remove`, `townsquare stream FILE --rate N`,
`townsquare listen consume|alerts|series`."""

from __future__ import annotations

import csv
import threading
import time
from pathlib import Path

import orjson
import typer
from rich.table import Table
from rich.text import Text

from townsquare.cli import app, console
from townsquare.errors import BadInput

watch_app = typer.Typer(help="What to follow: keywords, hashtags, handles and a description.", no_args_is_help=True)
listen_app = typer.Typer(help="Stream consumers, alerts and aggregates.", no_args_is_help=True)
app.add_typer(watch_app, name="watch")
app.add_typer(listen_app, name="listen")
out = console(highlight=False, soft_wrap=True)
err = console(stderr=True, highlight=False, soft_wrap=True)


def _store():
    from townsquare.store import Store

    return Store()


@watch_app.command("add")
def watch_add(
    name: str = typer.Argument(..., help='What to call it, e.g. "Acme Phone".'),
    keywords: str = typer.Option("", "--keywords", "-k", help='Comma-separated words, #hashtags, @handles '
                                 '(default: the name), e.g. "Acme Phone,#AcmePhone,acme手机,@acme".'),
    lang: str = typer.Option("", "--lang", help="Comma-separated languages to keep: en, zh, other (default: all)."),
    description: str = typer.Option("", "--description", help="What posts about it say, for semantic matching."),
    similarity: float = typer.Option(None, "--similarity", help="Cosine threshold for a semantic match."),
    minutes: int = typer.Option(60, "--minutes", help="Bucket the detectors score: 1, 5 or 60."),
    sensitivity: float = typer.Option(None, "--sensitivity", help="Detector threshold in (0, 1); lower = more alerts."),
    webhook: str = typer.Option(None, "--webhook", help="POST each alert as JSON to this URL."),
) -> None:
    """Start following something."""
    from townsquare.listen.watches import DEFAULT_SIMILARITY, Watch, add_watch, parse_list

    w = add_watch(_store(), Watch(name=name, keywords=parse_list(keywords), langs=parse_list(lang),
                                  description=description, similarity=similarity or DEFAULT_SIMILARITY,
                                  minutes=minutes, sensitivity=sensitivity, webhook_url=webhook))
    out.print(f"watch {w.id} “{w.name}”: keywords {', '.join(w.keywords)}; languages {', '.join(w.langs) or 'all'}; "
              f"{w.minutes}-minute buckets")


@watch_app.command("list")
def watch_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The watches and what they match."""
    from townsquare.listen.watches import list_watches

    watches = list_watches(_store())
    if as_json:
        typer.echo(orjson.dumps([w.to_dict() for w in watches]).decode())
        return
    table = Table("id", "name", "keywords", "langs", "minutes", "webhook")
    for w in watches:
        table.add_row(str(w.id), w.name, ", ".join(w.keywords), ", ".join(w.langs) or "all", str(w.minutes),
                      w.webhook_url or "")
    out.print(table if watches else "no watches yet — add one with: townsquare watch add NAME --keywords ...")


@watch_app.command("remove")
def watch_remove(name: str = typer.Argument(..., help="The watch's name or id.")) -> None:
    """Stop following something (its aggregates and alerts go too)."""
    from townsquare.listen.watches import remove_watch

    key: int | str = int(name) if name.isdigit() else name
    if not remove_watch(_store(), key):
        raise BadInput("NAME", f"no watch named {name!r}", "see `townsquare watch list`")
    out.print(f"removed watch {name}")


def _records(path: Path, fmt: str):
    """(body, location) per record of a JSONL or CSV file; unreadable lines are sent as they are and quarantined."""
    from townsquare.listen.pipeline import message

    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8", errors="replace") as fh:
            for row in csv.DictReader(fh):
                yield message(dict(row), "generic")
        return
    with path.open("rb") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                yield message(orjson.loads(line), fmt)
            except orjson.JSONDecodeError:
                yield message(line.decode("utf-8", "replace").rstrip("\n"), fmt)


def _record_format(fmt: str) -> str:
    """Checked before anything is sent: an unknown format would quarantine every record. x_v2 means x-v2."""
    from townsquare.ingest.formats import READERS

    name = fmt.strip().lower().replace("_", "-")
    if name not in READERS:
        raise BadInput("--format", f"{fmt!r} is not a record format", f"use one of {', '.join(READERS)}")
    return name


@app.command("stream")
def stream(
    path: Path = typer.Argument(..., help="JSONL (one post per line) or CSV file to replay."),
    rate: float = typer.Option(0, "--rate", help="Posts per second (0 = as fast as possible)."),
    fmt: str = typer.Option("generic", "--format", help="Record format of each line: generic, x-v2, x-v1, "
                            "mastodon, weibo, reddit, bluesky."),
    consume: bool = typer.Option(None, "--consume/--no-consume",
                                 help="Also process the posts here (default: yes for the in-process queue; with "
                                      "Redis, consumers run as `townsquare listen consume`)."),
) -> None:
    """Replay a file into the stream at a given rate (for demos and tests)."""
    from townsquare.listen.consumer import start_in_background
    from townsquare.listen.pipeline import ListenPipeline
    from townsquare.listen.queue import MemoryQueue, get_queue

    if not path.is_file():
        raise BadInput("PATH", f"{path} does not exist or is not a file", "check the path")
    if rate < 0:
        raise BadInput("--rate", f"{rate} is negative", "use posts per second, or 0 for as fast as possible")
    fmt = _record_format(fmt)
    queue = get_queue()
    consume = isinstance(queue, MemoryQueue) if consume is None else consume
    consumer = None
    if consume:
        thread, stop, consumer = start_in_background(queue, ListenPipeline(), block_ms=200)
    started, sent, chunk = time.perf_counter(), 0, []
    step = max(1, int(rate / 10)) if rate else 500
    for body in _records(path, fmt):
        chunk.append(body)
        if len(chunk) >= step:
            sent += queue.publish(chunk)
            chunk = []
            if rate:
                time.sleep(max(0.0, started + sent / rate - time.perf_counter()))
    sent += queue.publish(chunk) if chunk else 0
    if consumer is None:
        out.print(f"published {sent} posts in {time.perf_counter() - started:.1f} s")
        return
    while any(queue.backlog().values()):  # waiting or pending: not all processed yet
        time.sleep(0.1)
    stop.set()
    thread.join()
    s = consumer.stats
    out.print(f"streamed {sent} posts in {time.perf_counter() - started:.1f} s: stored {s.stored}, quarantined "
              f"{s.quarantined}, counted for watches {s.matched}, alerts {s.alerts}")


@listen_app.command("consume")
def consume_cmd(
    name: str = typer.Option(None, "--name", help="Consumer name in the group (default: host-pid)."),
    batch: int = typer.Option(256, "--batch", help="Messages per batch."),
    claim_after: float = typer.Option(30.0, "--claim-after", help="Seconds before another consumer's unacknowledged "
                                                                  "messages are taken over."),
    idle_exit: float = typer.Option(None, "--idle-exit", help="Stop after the stream has been empty this long (s)."),
) -> None:
    """Run a stream consumer (several may run at once; they share the load through the consumer group)."""
    from townsquare.listen.consumer import Consumer
    from townsquare.listen.notify import start_sender
    from townsquare.listen.pipeline import ListenPipeline
    from townsquare.listen.queue import MemoryQueue, get_queue

    if batch < 1:
        raise BadInput("--batch", f"{batch} is not a batch size", "use e.g. --batch 256")
    queue = get_queue()
    if isinstance(queue, MemoryQueue):  # this process's own queue: nothing else can publish to it, it would wait forever
        raise BadInput("TOWNSQUARE_STREAM_URL", "is not set, and `listen consume` needs a Redis stream to read",
                       "set TOWNSQUARE_STREAM_URL=redis://host:6379/0 (the embedded `townsquare serve` processes "
                       "posts in-process)")
    pipeline = ListenPipeline()
    consumer = Consumer(queue, pipeline, name, batch=batch, claim_idle_ms=int(claim_after * 1000))
    sender, sender_stop = start_sender(pipeline.store)
    stop = threading.Event()
    out.print(f"consumer {consumer.name} running (Ctrl-C to stop)")
    try:
        stats = consumer.run(stop, idle_exit_s=idle_exit)
    except KeyboardInterrupt:
        stats = consumer.stats
    sender_stop.set()
    out.print(f"consumer {consumer.name}: {stats.messages} messages, stored {stats.stored}, quarantined "
              f"{stats.quarantined}, counted {stats.matched}, alerts {stats.alerts}, errors {stats.errors}")


@listen_app.command("backfill")
def backfill_cmd(
    since: str = typer.Option(None, "--since", help="Oldest post time to count (ISO 8601, UTC)."),
    until: str = typer.Option(None, "--until", help="Count posts before this time (ISO 8601, UTC)."),
) -> None:
    """Count the posts already in the store for every watch (a new watch gets its history and a warmed
    detector). Idempotent: posts already counted are not counted again."""
    from datetime import datetime

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from townsquare.listen.pipeline import ListenPipeline
    from townsquare.listen.replay import backfill

    def when(value: str | None, name: str):
        if value is None:
            return None
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)
        except ValueError:
            raise BadInput(name, f"{value!r} is not a time", "use ISO 8601, e.g. 2026-11-01T00:00:00Z") from None

    store = _store()
    pipeline = ListenPipeline(store)
    total = store.count_posts()
    with Progress(TextColumn("counting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=out,
                  disable=not out.is_terminal, transient=True) as bar:
        task = bar.add_task("", total=total)
        done = backfill(pipeline, since=when(since, "--since"), until=when(until, "--until"),
                        on_progress=lambda n: bar.advance(task, n))
    out.print(f"backfilled {done:,} posts for the watches")


@listen_app.command("alerts")
def alerts_cmd(
    watch: str = typer.Option(None, "--watch", help="Only this watch (name or id)."),
    limit: int = typer.Option(20, "--limit"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON with the full explanations."),
) -> None:
    """The newest alerts, with what happened."""
    from townsquare.listen.monitor import list_alerts
    from townsquare.listen.watches import get_watch

    store = _store()
    watch_id = None
    if watch:
        w = get_watch(store, int(watch) if watch.isdigit() else watch)
        if w is None:
            raise BadInput("--watch", f"no watch named {watch!r}", "see `townsquare watch list`")
        watch_id = w.id
    alerts = list_alerts(store, watch_id, limit=limit)
    if as_json:
        typer.echo(orjson.dumps(alerts).decode())
        return
    if not alerts:
        out.print("no alerts")
    for a in alerts:
        summary = (a["explanation"].get("summary") or {}).get("text", "")
        out.print(Text.assemble((f"#{a['id']}", "bold"), f" {a['bucket_start']} {a['metric']} {a['value']:.0f} "
                                f"(usual {a['expected']:.0f}, score {a['score']:.2f})\n  {summary}"))


@listen_app.command("series")
def series_cmd(
    watch: str = typer.Argument(..., help="The watch's name or id."),
    minutes: int = typer.Option(60, "--minutes", help="1, 5 or 60."),
    last: int = typer.Option(48, "--last", min=0, help="Buckets shown in the table, newest last (0 = all)."),
    as_json: bool = typer.Option(False, "--json", help="Every bucket as JSON."),
) -> None:
    """A watch's counts per bucket."""
    from townsquare.listen.aggregate import series
    from townsquare.listen.watches import GRANULARITIES, get_watch

    if minutes not in GRANULARITIES:
        raise BadInput("--minutes", f"{minutes} is not a bucket size", f"use one of {GRANULARITIES}")
    store = _store()
    w = get_watch(store, int(watch) if watch.isdigit() else watch)
    if w is None:
        raise BadInput("WATCH", f"no watch named {watch!r}", "see `townsquare watch list`")
    rows = series(store, w.id, minutes)
    if as_json:
        typer.echo(orjson.dumps(rows).decode())
        return
    table = Table("start (UTC)", "volume", "negative", "neutral", "positive")
    shown = rows[-last:] if last else rows
    for r in shown:
        table.add_row(r["start"].isoformat(), *(str(r[k]) for k in ("volume", "negative", "neutral", "positive")))
    out.print(table)
    if len(shown) < len(rows):
        err.print(f"the last {len(shown)} of {len(rows):,} buckets; --last 0 shows all, --json every one as JSON")
