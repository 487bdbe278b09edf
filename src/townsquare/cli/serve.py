"""`townsquare serve`: the API and the web dashboard under uvicorn. `--demo` loads a sample world first
and prints a local admin key, so every page shows real content at first start."""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import sys
from pathlib import Path

import typer

from townsquare.auth import KeyStore
from townsquare.cli import app
from townsquare.config import get_settings
from townsquare.errors import BadInput
from townsquare.store import Store
from townsquare.store.db import get_engine

DEMO_KEY_FILE = "demo-admin.key"  # under the data dir, mode 0600: restarts print the same key
DEMO_WORLD_FILE = "demo-world.json"  # which world was loaded, so a restart does not generate it again


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise BadInput("--port", f"cannot listen on {host}:{port} ({exc.strerror or exc})",
                           f"stop the other server or pick another port, e.g. --port {port + 1}") from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def demo_admin_key(store: Store, data_dir: Path) -> str:
    """The demo's admin key: reuse the one saved under the data dir while it still works, else make one."""
    keys = KeyStore(store)
    path = data_dir / DEMO_KEY_FILE
    if path.exists():
        raw = path.read_text().strip()
        if keys.verify(raw) is not None:
            return raw
    _, raw = keys.create("admin", "demo")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(raw + "\n")
    os.chmod(path, 0o600)  # also when the file existed with looser permissions
    return raw


def _demo_config(posts: int | None):
    from townsquare.world import WorldConfig

    # A smaller world keeps about ten posts per author, so it stays a believable crowd.
    # ... and a crisis of at least ~150 posts, so the Listen page has something to detect.
    return WorldConfig(seed=7) if posts is None else WorldConfig(
        seed=7, posts=posts, authors=max(20, min(3_000, posts // 10)),
        crisis_share=min(0.05, max(0.01, 150 / posts)))


def load_demo_world(store: Store, data_dir: Path, posts: int | None) -> None:
    """Load the sample world on first start; later starts find it (marker file + its posts) and skip it."""
    from townsquare.world import load_world

    cfg = _demo_config(posts)
    marker = data_dir / DEMO_WORLD_FILE
    wanted = json.dumps({"seed": cfg.seed, "posts": cfg.posts, "authors": cfg.authors, "platform": cfg.platform,
                         "store": store.engine.url.render_as_string(hide_password=True)}, sort_keys=True)
    if marker.exists() and marker.read_text() == wanted and store.query_posts(platform=cfg.platform, limit=1):
        typer.echo(f"demo world already loaded ({cfg.posts:,} posts, seed {cfg.seed})")
        return
    typer.echo(f"loading the demo world: {cfg.posts:,} posts by {cfg.authors:,} authors (first start only) ...")
    sys.stdout.flush()
    summary = load_world(cfg, store, progress=sys.stderr.isatty())
    typer.echo(summary.line("loaded", "into the store"))
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(wanted)


def prepare_listen_demo(store: Store, posts: int | None) -> str:
    """The Listen page's live crisis: count the watch's history now, replay the crisis once the server is up."""
    from townsquare.listen.replay import prepare_demo

    cfg = _demo_config(posts)
    typer.echo("listen: counting the demo watch's history (the first start also analyses the posts) ...")
    sys.stdout.flush()
    since, until = prepare_demo(store, cfg.crisis_start)
    typer.echo(f"listen: replaying {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} UTC live — "
               "the Acme crisis reaches the Listen page in about a minute")
    return f"{since.isoformat()},{until.isoformat()}"


@app.command("serve")
def serve(
    host: str = typer.Option(None, "--host", help="Address to listen on.", show_default="127.0.0.1"),
    port: int = typer.Option(None, "--port", "-p", min=1, max=65535, help="Port.", show_default="8000"),
    demo: bool = typer.Option(False, "--demo", help="Load the sample world and print a local admin key."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, max=64, help="uvicorn worker processes."),
    demo_posts: int = typer.Option(None, "--demo-posts", min=10, help="Posts in the demo world (small = quick)."),
) -> None:
    """Serve the API, its docs (/docs) and the web dashboard (/)."""
    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    _check_port_free(host, port)
    store = Store(get_engine(settings.resolved_database_url))  # migrate once here, not in each worker

    base = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    lines = [f"townsquare on {base}  (API docs: {base}/docs)",
             f"store: {store.engine.url.render_as_string(hide_password=True)}"]
    if demo:
        load_demo_world(store, Path(settings.data_dir), demo_posts)
        os.environ["TOWNSQUARE_DEMO_REPLAY"] = prepare_listen_demo(store, demo_posts)
        from townsquare.respond.demo import prepare_demo  # the Respond page's knowledge base and intents

        typer.echo(prepare_demo(store, Path(settings.data_dir), warm=False))
        from townsquare.experiment.simulate import prepare_demo as prepare_ab  # Recommend's A/B report

        typer.echo(prepare_ab(store, _demo_config(demo_posts)))
        get_settings.cache_clear()
        raw = demo_admin_key(store, Path(settings.data_dir))
        lines += [f"posts in the store: {store.count_posts():,}",
                  f"admin key (local demo; also in {Path(settings.data_dir) / DEMO_KEY_FILE}): {raw}",
                  f"dashboard, signed in: {base}/#key={raw}"]
    elif not KeyStore(store).list(include_revoked=False):
        lines.append("no API keys yet: create one with `townsquare keys create --role admin`")
    if not _is_loopback(host):
        lines.append(f"warning: listening on {host}, reachable from other machines; every call still needs a key")
    typer.echo("\n".join(lines))
    sys.stdout.flush()

    import uvicorn

    uvicorn.run("townsquare.api.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="info", proxy_headers=False, server_header=False)
