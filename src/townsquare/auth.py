"""Access control: API keys with roles, stored hashed.

A key looks like `ts_<prefix>_<secret>`. Only the prefix (for lookup) and the SHA-256 of the whole key are
stored; the raw key is shown once, when it is created. Roles map to a small permission table.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update

from townsquare.errors import BadInput, NotFound
from townsquare.schema import ROLES
from townsquare.store import Store
from townsquare.store.tables import ApiKeyRow

# What each role may do. Admin may do everything, including writing posts and managing keys.
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"*"}),
    "analyst": frozenset({"posts:read", "understand", "listen", "recommend", "create"}),
    "agent": frozenset({"posts:read", "respond"}),
    "customer": frozenset({"chat"}),  # its own conversations only (checked per conversation, not by role)
}
ALL_PERMISSIONS = frozenset(
    {"posts:read", "posts:write", "understand", "listen", "recommend", "create", "respond", "chat", "keys"}
)


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored key, without its secret."""

    id: int
    name: str
    prefix: str
    role: str
    created_at: datetime
    revoked_at: datetime | None = None

    def can(self, permission: str) -> bool:
        return role_can(self.role, permission)

    @property
    def permissions(self) -> list[str]:
        granted = PERMISSIONS.get(self.role, frozenset())
        return sorted(ALL_PERMISSIONS if "*" in granted else granted)


def role_can(role: str, permission: str) -> bool:
    granted = PERMISSIONS.get(role, frozenset())
    return "*" in granted or permission in granted


def check_role(role: str) -> str:
    if role not in ROLES:
        raise BadInput("role", f"{role!r} is not a role", f"use one of {', '.join(ROLES)}")
    return role


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def split_key(raw: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != "ts" or not parts[1] or not parts[2]:
        return None
    return parts[1]


def _row_to_key(row) -> ApiKey:
    return ApiKey(row.id, row.name, row.prefix, row.role, row.created_at, row.revoked_at)


class KeyStore:
    """Create, list, revoke and verify API keys in the store's `api_keys` table."""

    def __init__(self, store: Store | None = None):
        self.engine = (store or Store()).engine

    def create(self, role: str, name: str = "") -> tuple[ApiKey, str]:
        """A new key for `role`; returns the stored record and the raw key (shown once, never stored)."""
        check_role(role)
        prefix = secrets.token_hex(4)  # 8 hex characters: short to read, unique enough to index
        raw = f"ts_{prefix}_{secrets.token_urlsafe(32)}"
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.engine.begin() as conn:
            key_id = conn.execute(
                ApiKeyRow.__table__.insert().values(
                    name=name, prefix=prefix, key_hash=hash_key(raw), role=role, created_at=now
                )
            ).inserted_primary_key[0]
        return ApiKey(key_id, name, prefix, role, now), raw

    def list(self, include_revoked: bool = True) -> list[ApiKey]:
        q = select(ApiKeyRow).order_by(ApiKeyRow.id)
        if not include_revoked:
            q = q.where(ApiKeyRow.revoked_at.is_(None))
        with self.engine.connect() as conn:
            return [_row_to_key(r) for r in conn.execute(q)]

    def get(self, key_id: int) -> ApiKey:
        with self.engine.connect() as conn:
            row = conn.execute(select(ApiKeyRow).where(ApiKeyRow.id == key_id)).first()
        if row is None:
            raise NotFound(f"key: no key with id {key_id} — list the keys with `townsquare keys list`")
        return _row_to_key(row)

    def revoke(self, key_id: int) -> ApiKey:
        """Revoke a key (idempotent); it stops working on the next request."""
        key = self.get(key_id)
        if key.revoked_at is None:
            now = datetime.now(UTC).replace(tzinfo=None)
            with self.engine.begin() as conn:
                conn.execute(update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(revoked_at=now))
            key = self.get(key_id)
        return key

    def verify(self, raw: str) -> ApiKey | None:
        """The active key matching `raw`, or None. The hash comparison is constant-time."""
        prefix = split_key(raw)
        if prefix is None:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix)).first()
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.key_hash, hash_key(raw.strip())):
            return None
        return _row_to_key(row)
