"""`GET /health`: public liveness and readiness (can we reach the store?)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from townsquare import __version__
from townsquare.api.security import get_store
from townsquare.store import Store

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str  # "ok" or "degraded"
    version: str
    database: str  # "ok" or the one-line reason it is not


@router.get("/health", response_model=Health, summary="Is the service up and can it reach its store?")
def health(store: Store = Depends(get_store)):
    try:
        with store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return Health(status="ok", version=__version__, database="ok")
    except Exception as exc:  # noqa: BLE001 - health reports, it does not raise
        body = Health(status="degraded", version=__version__, database=f"{type(exc).__name__}: {exc}"[:300])
        return JSONResponse(body.model_dump(), status_code=503)
