"""Serving speed of live feeds: p50/p99 of a 50-item feed through the library and through the API, requests/s,
and the ANN index next to brute force (recall@50, speed ratio) on the same queries.

    OMP_NUM_THREADS=1 python benchmarks/feed_latency.py --posts 1000000 --users 100000
    python benchmarks/feed_latency.py --posts 100000 --users 10000 --requests 300   # a quick look

The world is generated straight into a SQLite store (raw inserts, seconds not hours): users with declared
interests, languages and active hours, a preferential-attachment follow graph, posts over the last 7 days, and
interactions that follow each user's interests. **Embeddings are synthetic** — each post's 512-d vector is its
topic's anchor (the real multilingual embedder's embedding of the topic gloss) plus a sub-topic offset (40 per
topic) plus Gaussian noise, normalised — because embedding a million texts on two cores would take ~25 minutes
and measure the embedder, not the feed.
Everything after generation is the real path: `FeedService` reads the store, builds the ANN index, profiles come
from SQL per request (cache cold: every measured user is asked once), the ranker is a HistGradientBoosting model
of the production size (80 trees, 31 leaves) fitted on this world's own candidates, with ALS factors.

The API run starts `uvicorn townsquare.api.app:create_app` in a subprocess (1 worker: one process holds the
state) and asks `GET /users/{id}/feed?k=50` with an API key: sequentially for latency, then from 4 client
threads for requests/s. Server and client share the same 2 cores.

Results (one run; a 2-core VM shared with other jobs, so treat the tails as pessimistic):

World: 1,000,000 posts (7 days), 100,000 users, 2,327,791 follows, 3,000,000 interactions; generated in 125 s;
the feed state (window arrays + index) loads in 108 s (89 s in the API worker); ranker + ALS fit 22 s.
2026-12-06, 2-core x86-64 VM shared with other jobs (load average ~4), OMP_NUM_THREADS=1.

| 50-item feed, 1M posts / 100k users    | p50 ms | p99 ms | note                                         |
|----------------------------------------|-------:|-------:|----------------------------------------------|
| library, profile cache cold (600 users)|   14.2 |   36.5 | CPU time p50 13.0 / p99 20.7                 |
| library, profile cached (300 users)    |   10.2 |   24.8 | CPU time p50 9.9 / p99 12.4                  |
| API `GET /users/{id}/feed?k=50`        |   18.6 |   34.9 | sequential, 300 users, over HTTP with a key  |
| API throughput: 53.9 requests/s        |      — |      — | 1 uvicorn worker, 4 client threads, 2 cores  |

| ANN vs brute force, 1M × 512-d (200 queries, k=50) | recall@50 | ms/query | speed-up |
|----------------------------------------------------|----------:|---------:|---------:|
| brute force (float32 matrix product)               |     1.000 |    179.5 |       1× |
| faiss IVF2000,SQ8 nprobe=8                         |     0.980 |     0.36 |     498× |
| faiss IVF2000,SQ8 nprobe=16 (serving default)      |     0.980 |     0.56 |     319× |
| faiss IVF2000,SQ8 nprobe=32                        |     0.980 |     1.04 |     173× |
| faiss IVF2000,SQ8 nprobe=64                        |     0.980 |     1.93 |      93× |

Target p99 ≤ 50 ms: met in this run, through the library (36.5 ms) and through the API (34.9 ms). An earlier
run on the same world with 200 trees and the older, unstructured synthetic embeddings gave API p50 50 ms and
p99 157 ms, and showed where the time went (tree-by-tree scoring, candidate de-duplication in Python). On those
embeddings — topic + isotropic noise, with no neighbourhood structure — recall@50 at nprobe 16 was 0.53: the
recall of an IVF index depends on the data, so measure it on your own embeddings. The recall ceiling of 0.98 is
the 8-bit quantisation. Requests/s is for one worker process; a second worker would need a second copy of the
state (~2 GB at 1M posts).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOWNSQUARE_FEED_AUTO_TRAIN", "0")

import numpy as np  # noqa: E402

CLOCK = datetime(2026, 11, 1, 12, 0)  # naive UTC, as stored
KINDS = ["view", "like", "repost", "click", "reply", "hide"]
KIND_P = [0.45, 0.3, 0.06, 0.1, 0.06, 0.03]


def _iso(seconds: np.ndarray) -> list[str]:
    base = np.datetime64(CLOCK.isoformat())
    return [str(t).replace("T", " ") for t in (base - seconds.astype("timedelta64[s]"))]


def generate(db: Path, n_posts: int, n_users: int, seed: int = 0) -> dict:
    """Write the world into a fresh migrated SQLite store; returns counts and seconds."""
    from townsquare.recommend.topics import TOPICS, anchors
    from townsquare.store import Store
    from townsquare.store.db import get_engine

    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    db.parent.mkdir(parents=True, exist_ok=True)
    db.unlink(missing_ok=True)
    Store(get_engine(f"sqlite:///{db}")).engine.dispose()  # migrate (tables and indexes) the real way
    anc = anchors().astype(np.float32)
    n_topics = len(TOPICS)
    con = sqlite3.connect(db)
    con.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-200000;")

    # Users: 2-3 interests each (a topic index), a language, active hours around a personal peak.
    interests = np.stack([rng.permutation(n_topics)[:3] for _ in range(n_users)])
    n_int = rng.integers(1, 4, n_users)
    zh = rng.random(n_users) < 0.4
    peak = rng.integers(0, 24, n_users)
    declared = rng.random(n_users) < 0.7  # the rest have no declared interests: profiles must cope
    popularity = rng.pareto(1.2, n_users) + 1  # who gets followed and read
    followers = np.zeros(n_users, np.int64)
    n_follow = np.minimum(rng.poisson(25, n_users), 400)
    n_follow[rng.random(n_users) < 0.05] = 0  # some follow no one
    p_follow = popularity / popularity.sum()
    src = np.repeat(np.arange(n_users), n_follow)
    dst = rng.choice(n_users, len(src), p=p_follow)  # one draw for every edge: preferential attachment
    follows = {(int(a) + 1, int(b) + 1) for a, b in zip(src.tolist(), dst.tolist(), strict=True) if a != b}
    for _, v in follows:
        followers[v - 1] += 1
    authors = []
    for u in range(n_users):
        extra = {"lang": "zh" if zh[u] else "en", "active_hours": sorted({int((peak[u] + d) % 24) for d in range(-2, 3)})}
        if declared[u]:
            extra["interests"] = [TOPICS[t] for t in interests[u, :n_int[u]].tolist()]
        authors.append((u + 1, "bench", str(u + 1), f"u{u + 1}", f"User {u + 1}", int(followers[u]), "",
                        json.dumps(extra)))
    con.executemany("INSERT INTO authors (id, platform, platform_id, handle, display_name, followers, bio, extra) "
                    "VALUES (?,?,?,?,?,?,?,?)", authors)
    con.executemany("INSERT INTO follows (follower_id, followee_id) VALUES (?, ?)", sorted(follows))
    print(f"generated {n_users:,} users and {len(follows):,} follows", flush=True)
    del authors

    # Posts: authors weighted by popularity; topic from the author's interests; over the last 7 days.
    writers = rng.choice(n_users, n_posts, p=p_follow / 2 + 0.5 / n_users)
    topic = interests[writers, rng.integers(0, 3, n_posts) % n_int[writers]]
    age = rng.integers(0, 7 * 86_400, n_posts)
    age.sort()
    age = age[::-1]  # ids increase with time
    created = _iso(age)
    lang = np.where(zh[writers], "zh", "en")
    now = CLOCK.isoformat(sep=" ")
    emb_model = "use"
    # Embeddings with structure: topic anchor → one of 40 sub-topics (a story, a product, a team) → the post.
    centres = anc[:, None, :] + rng.normal(0, 0.035, (n_topics, 40, anc.shape[1])).astype(np.float32)
    sub = rng.integers(0, 40, n_posts)
    chunk = 100_000
    for start in range(0, n_posts, chunk):
        stop = min(start + chunk, n_posts)
        ids = np.arange(start + 1, stop + 1)
        con.executemany(
            "INSERT INTO posts (id, platform, platform_id, author_id, text, lang, created_at, metrics, content_hash,"
            " ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [(int(i), "bench", str(i), int(writers[i - 1] + 1), f"post {i} about {TOPICS[topic[i - 1]]}",
              lang[i - 1], created[i - 1], "{}", "0", now) for i in ids.tolist()])
        vec = centres[topic[start:stop], sub[start:stop]] + rng.normal(0, 0.02, (stop - start, anc.shape[1]))
        vec = vec.astype(np.float32)
        vec /= np.linalg.norm(vec, axis=1, keepdims=True)
        con.executemany("INSERT INTO embeddings (post_id, model, dim, vector) VALUES (?,?,?,?)",
                        [(int(i), emb_model, anc.shape[1], v.tobytes()) for i, v in zip(ids.tolist(), vec, strict=True)])
    # Interactions: ~3 per post, by users who share the post's topic, after the post appeared.
    n_inter = 3 * n_posts
    by_topic = [np.flatnonzero((interests[:, :3] == t).any(1)) for t in range(n_topics)]
    post = rng.integers(0, n_posts, n_inter)
    user = np.array([by_topic[t][j % len(by_topic[t])] for t, j in
                     zip(topic[post].tolist(), rng.integers(0, 1 << 30, n_inter).tolist(), strict=True)])
    after = (rng.random(n_inter) * np.minimum(age[post], 86_400)).astype(np.int64)
    kinds = rng.choice(len(KINDS), n_inter, p=KIND_P)
    rows = sorted({(int(u + 1), int(p + 1), KINDS[k], int(age[p] - a)) for u, p, k, a in
                   zip(user.tolist(), post.tolist(), kinds.tolist(), after.tolist(), strict=True)},
                  key=lambda r: -r[3])
    stamps = _iso(np.array([r[3] for r in rows]))
    con.executemany("INSERT INTO interactions (user_id, post_id, kind, created_at) VALUES (?,?,?,?)",
                    [(u, p, k, s) for (u, p, k, _), s in zip(rows, stamps, strict=True)])
    con.commit()
    con.execute("ANALYZE")
    con.close()
    return {"posts": n_posts, "users": n_users, "follows": len(follows), "interactions": len(rows),
            "seconds": round(time.perf_counter() - started, 1)}


def fit_ranker(svc, folder: Path, users: list[int]) -> None:
    """A production-size ranker fitted on this world's candidates (label: the post is on a topic the user
    reads or follows its author), with ALS factors from the interactions; saved where the server loads it."""
    from townsquare.recommend.learn import new_model
    from townsquare.recommend.ranker import CF, Ranker, features
    from townsquare.recommend.state import KIND_WEIGHT

    st = svc.state
    cf = CF.fit(st.i_user, st.author[st.i_post], KIND_WEIGHT[st.i_kind], st.n_users)
    svc.ranker = Ranker(None, cf)
    xs, ys = [], []
    for u in users:
        prof = svc.profile(u)
        pos, flags, _, ctx = svc.candidates(prof)
        if not len(pos):
            continue
        liked = {t for t, _ in prof.topic_counts.most_common(3)} | set(prof.interest_topics)
        y = np.isin(st.topic[pos], list(liked)) & (np.random.default_rng(u).random(len(pos)) < 0.3)
        xs.append(features(st, prof, pos, flags, ctx.now, cf))
        ys.append(y | np.isin(st.author[pos], prof.follows))
    model = new_model().fit(np.concatenate(xs), np.concatenate(ys))
    ranker = Ranker(model, cf, {"note": "benchmark ranker: synthetic labels, production size"})
    ranker.save(folder)
    svc.ranker = ranker


def pct(ms: list[float]) -> dict:
    a = np.asarray(ms)
    return {"p50_ms": round(float(np.percentile(a, 50)), 2), "p99_ms": round(float(np.percentile(a, 99)), 2),
            "mean_ms": round(float(a.mean()), 2), "n": len(a)}


def bench_ann(st, queries: int = 200, k: int = 50, sweep: tuple[int, ...] = (8, 16, 32, 64)) -> dict:
    """The serving index next to brute force (one float32 matrix product) on the same queries, per nprobe."""
    from townsquare.recommend.ann import brute_force, recall_at

    rng = np.random.default_rng(1)
    has = np.flatnonzero(st.has_emb)
    q = st.vectors(rng.choice(has, queries, replace=False)) + rng.normal(0, 0.02, (queries, st.dim)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    matrix = st.vectors(has)  # float32 copy: what brute force would scan
    t0 = time.perf_counter()
    exact = [brute_force(matrix, has, q[i:i + 1], k)[1] for i in range(queries)]
    t_bf = (time.perf_counter() - t0) / queries
    del matrix
    out = {"index": st.ann.kind, "vectors": len(has), "brute_ms": round(1000 * t_bf, 2), "nprobe": {}}
    index = st.ann.index
    serving = getattr(index, "nprobe", None)
    for nprobe in (sweep if serving else (None,)):
        if nprobe:
            index.nprobe = nprobe
        t0 = time.perf_counter()
        approx = [st.ann.search(q[i:i + 1], k)[1] for i in range(queries)]
        t_ann = (time.perf_counter() - t0) / queries
        out["nprobe"][str(nprobe)] = {"recall@50": round(recall_at(np.concatenate(approx), np.concatenate(exact)), 3),
                                      "ann_ms": round(1000 * t_ann, 2), "speedup": round(t_bf / t_ann, 1)}
    if serving:
        index.nprobe = serving
    return out


def bench_library(svc, users: list[int]) -> dict:
    """Wall time and this thread's CPU time per feed (CPU time does not count waiting for a shared core)."""
    ms, cpu = [], []
    for u in users:
        t0, c0 = time.perf_counter(), time.thread_time()
        items = svc.feed(u, 50)
        ms.append(1000 * (time.perf_counter() - t0))
        cpu.append(1000 * (time.thread_time() - c0))
        assert len(items) <= 50
    warm, warm_cpu = [], []
    for u in users[: len(users) // 2]:  # the same users again: profile cached
        t0, c0 = time.perf_counter(), time.thread_time()
        svc.feed(u, 50)
        warm.append(1000 * (time.perf_counter() - t0))
        warm_cpu.append(1000 * (time.thread_time() - c0))
    return {"cold_profile": pct(ms), "cold_profile_cpu": pct(cpu), "warm_profile": pct(warm),
            "warm_profile_cpu": pct(warm_cpu)}


def bench_api(db: Path, data_dir: Path, users: list[int], workers: int = 1, clients: int = 4) -> dict:
    from townsquare.auth import KeyStore
    from townsquare.store import Store
    from townsquare.store.db import get_engine

    _, key = KeyStore(Store(get_engine(f"sqlite:///{db}"))).create("admin", "bench")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TOWNSQUARE_DATABASE_URL": f"sqlite:///{db}", "TOWNSQUARE_DATA_DIR": str(data_dir),
           "TOWNSQUARE_FEED_AUTO_TRAIN": "0"}
    log = open(data_dir / "uvicorn.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "townsquare.api.app:create_app",
                             "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                             "--log-level", "warning"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"

    def get(path: str) -> bytes:
        req = urllib.request.Request(base + path, headers={"X-API-Key": key})
        with urllib.request.urlopen(req, timeout=600) as r:
            return r.read()

    try:
        t0 = time.perf_counter()
        while True:
            try:
                get("/health")
                break
            except OSError:
                if proc.poll() is not None or time.perf_counter() - t0 > 120:
                    raise RuntimeError("uvicorn did not start: see " + str(data_dir / "uvicorn.log")) from None
                time.sleep(0.5)
        t0 = time.perf_counter()
        for _ in range(workers * 3):  # each worker builds its state on its first feed request
            get(f"/users/{users[0]}/feed?k=50")
        warmup = time.perf_counter() - t0
        half = len(users) // 2
        ms = []
        for u in users[:half]:
            t0 = time.perf_counter()
            body = json.loads(get(f"/users/{u}/feed?k=50"))
            ms.append(1000 * (time.perf_counter() - t0))
            assert body["count"] <= 50
        rest = users[half:]
        done = []

        def client(mine: list[int]) -> None:
            for u in mine:
                get(f"/users/{u}/feed?k=50")
                done.append(1)

        t0 = time.perf_counter()
        threads = [threading.Thread(target=client, args=(rest[i::clients],)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rps = len(done) / (time.perf_counter() - t0)
        return {"sequential": pct(ms), "requests_per_s": round(rps, 1), "clients": clients, "workers": workers,
                "warmup_s": round(warmup, 1)}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=600, help="feed requests per measurement (distinct users)")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/townsquare-feed-bench"))
    ap.add_argument("--reuse", action="store_true", help="keep an already generated world of the same size")
    ap.add_argument("--no-api", action="store_true")
    args = ap.parse_args()
    data_dir = args.dir / f"{args.posts}x{args.users}"
    db = data_dir / "bench.db"
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["TOWNSQUARE_DATA_DIR"] = str(data_dir)
    os.environ["TOWNSQUARE_DATABASE_URL"] = f"sqlite:///{db}"
    from townsquare.config import get_settings

    get_settings.cache_clear()
    out: dict = {"machine": f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
                 "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    if not (args.reuse and db.exists()):
        out["generated"] = generate(db, args.posts, args.users)
        print("generated", out["generated"], flush=True)
    from townsquare.recommend.feed import FeedService
    from townsquare.recommend.ranker import Ranker
    from townsquare.store import Store
    from townsquare.store.db import get_engine

    store = Store(get_engine(f"sqlite:///{db}"))
    t0 = time.perf_counter()
    svc = FeedService(store, ranker=Ranker(), auto_train=False, prepare=False)
    out["state_load_s"] = round(time.perf_counter() - t0, 1)
    print("state", svc.info(), flush=True)
    rng = np.random.default_rng(2)
    all_users = rng.permutation(np.arange(1, args.users + 1)).tolist()
    train_users, users = all_users[:300], all_users[300:300 + args.requests]
    t0 = time.perf_counter()
    fit_ranker(svc, data_dir / "models" / "feed_ranker", train_users)
    out["ranker_fit_s"] = round(time.perf_counter() - t0, 1)
    out["ann"] = bench_ann(svc.state)
    print("ann", out["ann"], flush=True)
    out["library"] = bench_library(svc, users)
    print("library", out["library"], flush=True)
    if not args.no_api:
        del svc  # the server process holds its own state; free this one's memory first
        import gc

        gc.collect()
        api_users = all_users[300 + args.requests:300 + 2 * args.requests]
        out["api"] = bench_api(db, data_dir, api_users)
        print("api", out["api"], flush=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
