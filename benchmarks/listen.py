"""Listen benchmark: NAB scores, detection latency, and sustained stream throughput.

    .venv/bin/python benchmarks/listen.py [--posts 6000] [--skip-nab] [--skip-latency] [--skip-throughput]

1. NAB (48 labelled dev series, three profiles, next to the published anchors): runs benchmarks/nab.py.
2. Detection latency, in event time (minutes from the burst's onset to the alert being raised, i.e. the end of
   the alerting bucket plus the 2-minute lateness the monitor allows):
   - the demo world's Acme crisis (30,000 posts; the whole Listen pipeline: analysis, matching, aggregates,
     monitor), for a 60-minute and a 5-minute watch;
   - CrisisLexT26 event timelines (real tweet volumes of 25 crises, 10-minute bins): the monitor's alert rule
     (default detector score + count test) on each series; the onset of a burst is defined offline (with
     hindsight) as the first bin whose count is >= 4x the median of the previous 24 hours and >= 20 tweets, after
     the detector's warm-up. Reported: bursts detected within 6 hours and the median latency.
3. Sustained throughput, end to end (publish -> stored, analysed, matched, counted, scored, acknowledged):
   in-process queue (SQLite), Redis Streams with 1 and 2 consumer processes (PostgreSQL).

Measured on 2 shared cores (AMD EPYC KVM guest, AVX2) while another job trained a model on the same cores —
treat absolute rates as lower bounds; ratios within one run are what the numbers are for:

    (see README "Listen" table; the run's output is pasted there)
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TOWNSQUARE_DATASETS", REPO.parent / "shared" / "datasets"))
BIN = Path(sys.executable).with_name("townsquare")


def nab() -> None:
    print("== NAB (48 dev series) ==", flush=True)
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "nab.py"), "--no-loo"], check=False)


def _world_messages(cfg):
    from townsquare.listen.pipeline import message
    from townsquare.world import iter_hours

    return [message({"id": p.platform_id, "platform": p.platform, "text": p.text, "author": p.author_id,
                     "created_at": p.created_at.isoformat()})
            for hb in iter_hours(cfg, interactions=False) for p in hb.posts]


def world_latency() -> None:
    from townsquare.listen.monitor import LATENESS, list_alerts
    from townsquare.listen.pipeline import ListenPipeline
    from townsquare.listen.watches import Watch, add_watch
    from townsquare.store import Store
    from townsquare.store.db import get_engine
    from townsquare.world import WorldConfig, crisis_window

    cfg = WorldConfig()
    start, _ = crisis_window(cfg)
    start = start.replace(tzinfo=None)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(get_engine(f"sqlite:///{tmp}/w.db"))
        kw = ["Acme Phone", "Acme Phone X", "#AcmePhone", "acme手机", "Acme"]
        watches = {m: add_watch(store, Watch(name=f"Acme {m} min", keywords=kw, minutes=m)) for m in (60, 5)}
        msgs = _world_messages(cfg)
        pipe = ListenPipeline(store)
        t0 = time.perf_counter()
        for i in range(0, len(msgs), 1000):
            pipe.process(msgs[i:i + 1000])
        took = time.perf_counter() - t0
        print(f"== demo world: {len(msgs):,} posts through the pipeline in {took:.0f} s "
              f"({len(msgs) / took:,.0f} posts/s); crisis onset {start:%Y-%m-%d %H:%M} UTC ==")
        for m, w in watches.items():
            alerts = sorted(list_alerts(store, w.id, limit=100), key=lambda a: a["bucket_start"])
            for a in alerts:
                at = datetime.fromisoformat(a["bucket_start"].rstrip("Z"))
                raised = at + timedelta(minutes=m) + LATENESS
                tag = "crisis" if start - timedelta(minutes=m) <= at <= start + timedelta(hours=24) else "other"
                print(f"  {m:>2}-min watch: {a['metric']:<8} bucket {at:%m-%d %H:%M} value {a['value']:.0f} "
                      f"(usual {a['expected']:.1f}) -> {tag}, raised {(raised - start).total_seconds() / 60:+.0f} min "
                      f"after onset")


def _timeline(path: Path, minutes: int = 10) -> tuple[list[datetime], list[int]]:
    times = []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            if not row or row[0].startswith("Timestamp"):
                continue
            times.append(datetime.strptime(row[0].strip().strip('"'), "%a %b %d %H:%M:%S +0000 %Y"))
    times.sort()
    step = timedelta(minutes=minutes)
    t0 = times[0].replace(minute=times[0].minute - times[0].minute % minutes, second=0)
    n = int((times[-1] - t0) / step) + 1
    counts = [0] * n
    for t in times:
        counts[int((t - t0) / step)] += 1
    return [t0 + i * step for i in range(n)], counts


def crisislex_latency(minutes: int = 10) -> None:
    from townsquare.listen.detect import get_detector
    from townsquare.listen.monitor import BASELINE, significant_count

    root = DATA / "crisislext26"
    files = sorted(root.glob("*/*-tweetids_entire_period.csv"))
    if not files:
        print(f"== CrisisLexT26: skipped (no timelines under {root}) ==")
        return
    per_day = 24 * 60 // minutes
    found, latencies, bursts, false = 0, [], 0, 0
    for path in files:
        times, counts = _timeline(path, minutes)
        det = get_detector("default")
        warm = det.warmup
        onsets = []
        for i in range(max(warm, per_day), len(counts)):
            base = statistics.median(counts[i - per_day:i])
            if counts[i] >= max(20, 4 * max(base, 1)) and not any(i - o < per_day for o in onsets):
                onsets.append(i)
        history: list[float] = []
        alerts = []
        for i, (t, c) in enumerate(zip(times, counts, strict=True)):
            score = det.score_one(t, c)
            if score >= det.threshold and significant_count(c, history):
                if not alerts or i - alerts[-1] >= 6:
                    alerts.append(i)
            history = (history + [c])[-BASELINE:]
        for o in onsets:
            bursts += 1
            hit = next((a for a in alerts if o - 1 <= a <= o + 36), None)  # within 6 h
            if hit is not None:
                found += 1
                latencies.append((hit - o + 1) * minutes + 2)
        false += sum(1 for a in alerts if not any(o - 1 <= a <= o + 36 for o in onsets))
    med = statistics.median(latencies) if latencies else float("nan")
    print(f"== CrisisLexT26 ({len(files)} timelines, {minutes}-min bins): {found}/{bursts} burst onsets alerted "
          f"within 6 h; median latency {med:.0f} min (p90 "
          f"{sorted(latencies)[int(0.9 * (len(latencies) - 1))] if latencies else float('nan'):.0f}); "
          f"{false} alerts outside the defined bursts ==")


def throughput(n_posts: int) -> None:
    from townsquare.listen.consumer import Consumer
    from townsquare.listen.pipeline import ListenPipeline
    from townsquare.listen.queue import MemoryQueue, RedisQueue
    from townsquare.listen.watches import Watch, add_watch
    from townsquare.store import Store
    from townsquare.store.db import get_engine
    from townsquare.world import WorldConfig

    msgs = _world_messages(WorldConfig(posts=n_posts, authors=max(100, n_posts // 10), days=7, seed=11))
    kw = ["Acme Phone", "#AcmePhone", "acme手机", "Acme"]
    print(f"== throughput: {len(msgs):,} posts end to end ==")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(get_engine(f"sqlite:///{tmp}/t.db"))
        add_watch(store, Watch(name="Acme", keywords=kw))
        queue = MemoryQueue()
        consumer = Consumer(queue, ListenPipeline(store), "bench", batch=256, block_ms=100)
        consumer.pipeline.analyzer.embed(["warm up"])  # model load is not stream throughput
        t0 = time.perf_counter()
        queue.publish(msgs)
        while consumer.step() is not None:
            pass
        results["in-process queue, 1 consumer (SQLite)"] = len(msgs) / (time.perf_counter() - t0)
    from tests.pg import fresh_postgres_database

    for consumers in (1, 2):
        key = f"townsquare:bench:{uuid.uuid4().hex[:8]}"
        with fresh_postgres_database() as url:
            store = Store(get_engine(url))
            add_watch(store, Watch(name="Acme", keywords=kw))
            queue = RedisQueue("redis://127.0.0.1:6379/0", key=key)
            env = {**os.environ, "TOWNSQUARE_DATABASE_URL": url, "TOWNSQUARE_STREAM_URL": "redis://127.0.0.1:6379/0",
                   "TOWNSQUARE_STREAM_KEY": key}
            procs = [subprocess.Popen([str(BIN), "listen", "consume", "--name", f"c{i}", "--batch", "256",
                                       "--idle-exit", "3600"], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL) for i in range(consumers)]
            time.sleep(12)  # let the consumers load their models before the clock starts
            t0 = time.perf_counter()
            queue.publish(msgs)
            while True:
                b = queue.backlog()
                if b["waiting"] == 0 and b["pending"] == 0:
                    break
                time.sleep(0.2)
            results[f"Redis Streams, {consumers} consumer process(es) (PostgreSQL)"] = \
                len(msgs) / (time.perf_counter() - t0)
            for p in procs:
                p.terminate()
                p.wait(timeout=30)
            store.engine.dispose()
            queue.redis.delete(key)
    base = next(iter(results.values()))
    for name, rate in results.items():
        print(f"  {name:<52} {rate:>7,.0f} posts/s  ({rate / base:.2f}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=6_000, help="posts for the throughput runs")
    ap.add_argument("--skip-nab", action="store_true")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"machine: {os.cpu_count()} cores, {os.uname().machine}; python {sys.version.split()[0]}")
    if not args.skip_nab:
        nab()
    if not args.skip_latency:
        crisislex_latency()
        world_latency()
    if not args.skip_throughput:
        throughput(args.posts)


if __name__ == "__main__":
    main()
