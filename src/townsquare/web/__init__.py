"""The web dashboard: static HTML/CSS/JS in `static/` (no build step, no CDN), served by the API at `/`.

The shell is public; its JavaScript asks for an API key, keeps it in localStorage and sends it to the API.
Each job's page is one module, `static/pages/<job>.js`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "static"
PAGES = ["overview", "listen", "understand", "recommend", "create", "respond"]

# The key lives in localStorage, so the page may run only its own scripts and talk only to its own origin.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class _RevalidatedFiles(StaticFiles):
    """Static files that the browser re-checks (ETag) on each load, so an upgrade never runs stale JS."""

    async def get_response(self, path: str, scope: Scope):
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def mount_dashboard(app: FastAPI) -> None:
    app.mount("/static", _RevalidatedFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(
            STATIC_DIR / "index.html",
            headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache", "Referrer-Policy": "no-referrer",
                     "X-Content-Type-Options": "nosniff"},
        )
