"""`/keys` (admins manage API keys) and `/me` (what the calling key may do; the dashboard checks keys with it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, field_validator

from townsquare.api.security import current_key, get_keys, require
from townsquare.auth import ApiKey, KeyStore

router = APIRouter(tags=["access"])


class KeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    role: str
    created_at: datetime
    revoked_at: datetime | None = None

    @field_validator("created_at", "revoked_at")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return v.replace(tzinfo=UTC) if v is not None and v.tzinfo is None else v

    @classmethod
    def of(cls, key: ApiKey) -> KeyOut:
        return cls(id=key.id, name=key.name, prefix=key.prefix, role=key.role, created_at=key.created_at,
                   revoked_at=key.revoked_at)


class NewKey(KeyOut):
    key: str = Field(description="the raw key: shown once, stored only as a hash")


class KeyRequest(BaseModel):
    role: Literal["admin", "analyst", "agent", "customer"]
    name: str = Field("", max_length=128)


class Me(BaseModel):
    id: int
    name: str
    prefix: str
    role: str
    permissions: list[str]


@router.get("/me", response_model=Me, summary="The calling key: its role and permissions")
def me(key: ApiKey = Depends(current_key)) -> Me:
    return Me(id=key.id, name=key.name, prefix=key.prefix, role=key.role, permissions=key.permissions)


@router.post("/keys", response_model=NewKey, status_code=201, summary="Create an API key (admin)")
def create_key(req: KeyRequest, keys: KeyStore = Depends(get_keys), _admin=Depends(require("keys"))) -> NewKey:
    key, raw = keys.create(req.role, req.name)
    return NewKey(**KeyOut.of(key).model_dump(), key=raw)


@router.get("/keys", response_model=list[KeyOut], summary="List API keys, without secrets (admin)")
def list_keys(keys: KeyStore = Depends(get_keys), _admin=Depends(require("keys"))) -> list[KeyOut]:
    return [KeyOut.of(k) for k in keys.list()]


@router.delete("/keys/{key_id}", response_model=KeyOut, summary="Revoke an API key (admin)")
def revoke_key(key_id: int, keys: KeyStore = Depends(get_keys), _admin=Depends(require("keys"))) -> KeyOut:
    return KeyOut.of(keys.revoke(key_id))
