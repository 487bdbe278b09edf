"""Who is calling, and may they? `require("posts:read")` is the dependency every protected route uses.

The key comes as `Authorization: Bearer <key>` or `X-API-Key: <key>`; both appear under "Authorize" in /docs.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from townsquare.auth import ApiKey, KeyStore, role_can
from townsquare.schema import ROLES
from townsquare.store import Store

bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer ts_...")
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: ts_...")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_keys(request: Request) -> KeyStore:
    return request.app.state.keys


def current_key(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Security(bearer),
    header_key: str | None = Security(api_key_header),
) -> ApiKey:
    raw = (credentials.credentials if credentials else None) or header_key
    if not raw:
        raise HTTPException(
            401,
            "authorization: no API key — send `Authorization: Bearer <key>` or `X-API-Key: <key>`; "
            "create a key with `townsquare keys create --role analyst`",
            headers=_CHALLENGE,
        )
    key = get_keys(request).verify(raw)
    if key is None:
        raise HTTPException(
            401,
            "authorization: this API key is unknown or revoked — check it was copied whole, "
            "or create a new one with `townsquare keys create`",
            headers=_CHALLENGE,
        )
    return key


def require(permission: str) -> Callable[..., ApiKey]:
    """A dependency that lets the request through only for a key whose role has `permission`."""
    allowed = [r for r in ROLES if role_can(r, permission)]

    def check(key: ApiKey = Depends(current_key)) -> ApiKey:
        if not key.can(permission):
            raise HTTPException(
                403,
                f"permission: a key with role {key.role!r} may not use {permission} — "
                f"use a key with role {' or '.join(allowed)}",
            )
        return key

    check.__name__ = f"require_{permission.replace(':', '_')}"
    return check
