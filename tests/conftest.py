"""Shared fixtures: settings on a fresh data dir, a Store on a fresh SQLite file, the CLI as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing in the tests may reach for a model hub
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see townsquare/__init__.py

from townsquare.config import Settings, get_settings  # noqa: E402
from townsquare.store import Store  # noqa: E402
from townsquare.store.db import get_engine  # noqa: E402

TOWNSQUARE_BIN = Path(sys.executable).with_name("townsquare")


@pytest.fixture
def settings_env(tmp_path, monkeypatch) -> Settings:
    """Settings on a fresh data dir and SQLite file, set through the env vars every entry point reads."""
    data_dir = tmp_path / "var"
    monkeypatch.setenv("TOWNSQUARE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("TOWNSQUARE_DATABASE_URL", f"sqlite:///{data_dir / 'townsquare.db'}")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def tmp_store(settings_env) -> Store:
    """A migrated Store on the fresh SQLite file of `settings_env`. (Engines are cached per URL.)"""
    store = Store(get_engine(settings_env.resolved_database_url))
    yield store
    store.engine.dispose()


@pytest.fixture
def run_cli(settings_env):
    """Run `townsquare ARGS...` as a subprocess on the test's data dir; returns the CompletedProcess."""

    def run(*args: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
        return subprocess.run([str(TOWNSQUARE_BIN), *args], capture_output=True, text=True, timeout=timeout,
                              env=os.environ.copy(), **kw)

    return run
