"""API throughput and latency through a real `townsquare serve` on loopback (one uvicorn worker, SQLite).

    .venv/bin/python benchmarks/bench_api.py [--posts 100000] [--requests 300]

Seeds a fresh SQLite store with synthetic posts, starts the server on a free 127.0.0.1 port, and times
keep-alive requests from one client (httpx), plus POST /posts batches through ingestion.

Measured on the 2-core dev machine, 100,000 posts in the store, one worker, 300 sequential requests:
    quiet machine (load ~1):
        GET /health                       392 req/s   p50  1.6 ms   p95  6.5 ms
        GET /posts?limit=100              197 req/s   p50  4.2 ms   p95 10.7 ms
        GET /posts?lang=zh&contains=电池   203 req/s   p50  4.8 ms   p95  5.9 ms
        GET /overview                      11 req/s   p50   87 ms   p95  110 ms  (grouped scans of all posts)
    busy machine (load ~12, other jobs on both cores):
        GET /posts?limit=100               36 req/s   p50   25 ms   p95   56 ms
        GET /overview                     2.9 req/s   p50  327 ms   p95  419 ms
        POST /posts, 5,000-post batches   4,700-7,600 posts/s (0.66-1.06 s a batch, ingestion included)
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from townsquare.auth import KeyStore
from townsquare.schema import Post
from townsquare.store import Store
from townsquare.store.db import get_engine

BIN = Path(sys.executable).with_name("townsquare")


def seed(store: Store, n: int) -> None:
    ids = store.ensure_authors([("bench", f"u{i}") for i in range(max(20, n // 10))])
    t0 = datetime(2026, 10, 1, tzinfo=UTC)
    words = ["acme", "battery", "launch", "refund", "camera", "final", "电池", "退款", "发布", "比赛"]
    for start in range(0, n, 20_000):
        posts = [
            Post("bench", str(i), f"post {i} about {words[i % 10]} and {words[(i * 7) % 10]}",
                 t0 + timedelta(seconds=i * 2419200 // n), author_id=f"u{i % (n // 10 or 1)}",
                 lang="zh" if i % 5 < 2 else "en")
            for i in range(start, min(n, start + 20_000))
        ]
        store.upsert_posts(posts, ids)


def timed(client: httpx.Client, method: str, url: str, n: int, **kw) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p95 ms) over n sequential requests."""
    lat = []
    start = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        r = client.request(method, url, **kw)
        r.raise_for_status()
        lat.append((time.perf_counter() - t) * 1000)
    total = time.perf_counter() - start
    lat.sort()
    return n / total, statistics.median(lat), lat[int(0.95 * (len(lat) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--batch", type=int, default=5_000)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="ts-bench-api-"))
    env = {**os.environ, "TOWNSQUARE_DATA_DIR": str(tmp), "HF_HUB_OFFLINE": "1"}
    os.environ.update(env)
    store = Store(get_engine(f"sqlite:///{tmp / 'townsquare.db'}"))
    t = time.perf_counter()
    seed(store, args.posts)
    print(f"seeded {args.posts:,} posts in {time.perf_counter() - t:.1f} s")
    _, raw = KeyStore(store).create("admin", "bench")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([str(BIN), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, headers={"X-API-Key": raw}, timeout=60) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    client.get("/health").raise_for_status()
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            n = args.requests
            for label, method, url in [
                ("GET /health", "GET", "/health"),
                ("GET /posts?limit=100", "GET", "/posts?limit=100"),
                ("GET /posts?lang=zh&contains=电池&limit=100", "GET", "/posts?lang=zh&contains=电池&limit=100"),
                ("GET /overview", "GET", "/overview"),
            ]:
                rps, p50, p95 = timed(client, method, url, n if "overview" not in url else max(10, n // 10))
                print(f"{label:45s} {rps:8.1f} req/s   p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")
            try:
                import townsquare.ingest as ingest

                has_ingest = hasattr(ingest, "ingest_records")
            except ImportError:
                has_ingest = False
            if has_ingest:
                for round_ in range(3):
                    batch = [{"id": f"b{round_}-{i}", "text": f"api post {i} about the launch",
                              "author": f"api{i % 500}", "created_at": "2026-11-28T14:10:08Z", "lang": "en"}
                             for i in range(args.batch)]
                    t = time.perf_counter()
                    report = client.post("/posts", json=batch).raise_for_status().json()
                    dt = time.perf_counter() - t
                    print(f"POST /posts batch of {args.batch:,}: {dt * 1000:7.0f} ms "
                          f"({args.batch / dt:,.0f} posts/s; new {report['new']:,})")
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
