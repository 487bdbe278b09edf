"""The store: SQLite by default, PostgreSQL by URL; migrated with Alembic on first use."""

from townsquare.store.db import get_engine
from townsquare.store.repository import QuarantinedRecord, Store, UpsertCounts

__all__ = ["Store", "UpsertCounts", "QuarantinedRecord", "get_engine"]
