"""The app factory: routers per job, one error shape, a body size limit, offline docs and the web dashboard."""

from __future__ import annotations

import importlib
import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from townsquare import __version__
from townsquare.api.errors import install_error_handlers
from townsquare.api.limits import BodySizeLimit
from townsquare.auth import KeyStore
from townsquare.config import Settings, get_settings
from townsquare.store import Store
from townsquare.store.db import get_engine

logger = logging.getLogger(__name__)

# Each module under routes/ exposes `router`; a later job adds its name here.
ROUTERS = ["health", "posts", "overview", "keys", "understand", "listen", "create", "respond", "recommend", "kb", "experiment", "audience"]

DESCRIPTION = """Self-hosted language models for social media: listen, understand, recommend, create, respond.

Send your API key as `Authorization: Bearer ts_...` or `X-API-Key: ts_...` (create one with
`townsquare keys create --role analyst`). Errors come as `{"error": "<field>: <problem> — <fix>"}`."""


def _docs_assets() -> Path | None:
    """Swagger UI and ReDoc files from the fastapi-offline package, so /docs works with no network."""
    try:
        import fastapi_offline
    except ImportError:
        return None
    path = Path(fastapi_offline.__file__).parent / "static"
    return path if (path / "swagger-ui-bundle.js").exists() else None


def _add_docs(app: FastAPI) -> None:
    from fastapi.staticfiles import StaticFiles

    assets = _docs_assets()
    if assets is None:  # fall back to FastAPI's CDN-hosted pages
        app.docs_url, app.redoc_url = "/docs", "/redoc"
        app.setup()
        return
    app.mount("/docs-assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="townsquare API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js", swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon.png",
            swagger_ui_parameters={"persistAuthorization": True},
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title="townsquare API",
                              redoc_js_url="/docs-assets/redoc.standalone.js",
                              redoc_favicon_url="/docs-assets/favicon.png", with_google_fonts=False)


def _start_demo_replay(app: FastAPI):
    import threading
    from datetime import datetime

    from townsquare.listen.queue import get_queue
    from townsquare.listen.replay import replay_stored

    since, until = (datetime.fromisoformat(x) for x in app.state.settings.demo_replay.split(","))
    stop = threading.Event()
    threading.Thread(target=replay_stored, args=(app.state.store, get_queue(app.state.settings.stream_url), since,
                                                 until),
                     kwargs={"stop": stop, "seconds_per_hour": app.state.settings.demo_replay_seconds_per_hour},
                     name="townsquare-demo-replay",
                     daemon=True).start()
    return stop


@asynccontextmanager
def _warm_writer() -> None:
    """Build (once per machine) and load the Create page's model; a failure is reported when someone writes."""
    try:
        from townsquare.create.writer import create_generator

        create_generator()
    except Exception:  # noqa: BLE001 - a warm-up: the request path reports the same error to the user
        logger.info("the writer's model could not be loaded in advance", exc_info=True)


async def _lifespan(app: FastAPI):
    """With `listen_consumer` on, the API process also consumes the stream and delivers webhooks (the embedded
    deployment needs nothing else running; bigger ones add `townsquare listen consume` processes)."""
    stops = []
    if app.state.settings.listen_consumer:
        from townsquare.listen.consumer import start_in_background
        from townsquare.listen.notify import start_sender
        from townsquare.listen.pipeline import ListenPipeline
        from townsquare.listen.queue import get_queue

        _, stop, _ = start_in_background(get_queue(app.state.settings.stream_url), ListenPipeline(app.state.store))
        _, sender_stop = start_sender(app.state.store)
        stops += [stop, sender_stop]
        if app.state.settings.demo_replay:
            stops.append(_start_demo_replay(app))
    if app.state.settings.demo_replay:  # the demo: load the models now, not on the first question or brief
        import threading

        from townsquare.respond.assistant import get_assistant

        threading.Thread(target=get_assistant(app.state.store).warm, name="townsquare-respond-warm",
                         daemon=True).start()
        threading.Thread(target=_warm_writer, name="townsquare-create-warm", daemon=True).start()
    yield
    for stop in stops:
        stop.set()


def create_app(settings: Settings | None = None) -> FastAPI:
    """A new app on `settings` (default: the environment's). Opening the store migrates it if needed."""
    settings = settings or get_settings()
    app = FastAPI(title="townsquare", version=__version__, description=DESCRIPTION, docs_url=None, redoc_url=None,
                  lifespan=_lifespan)
    app.state.settings = settings
    app.state.store = Store(get_engine(settings.resolved_database_url))
    app.state.keys = KeyStore(app.state.store)

    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_body_bytes=settings.max_body_bytes)
    for name in ROUTERS:
        app.include_router(importlib.import_module(f"townsquare.api.routes.{name}").router)
    _add_docs(app)

    from townsquare.web import mount_dashboard

    mount_dashboard(app)
    return app
