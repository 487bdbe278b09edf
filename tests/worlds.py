"""A small sample world, loaded and analysed (real embeddings) once per test module that asks for it."""

from __future__ import annotations

import os

import pytest

from townsquare.config import get_settings
from townsquare.store import Store
from townsquare.store.db import get_engine
from townsquare.world import WorldConfig

SMALL_WORLD = WorldConfig(seed=7, posts=2_000, authors=200, days=6)


@pytest.fixture(scope="module")
def world_store(tmp_path_factory):
    """(store, cfg): the world on a fresh SQLite file with every post analysed; feeds do not train in the
    background (TOWNSQUARE_FEED_AUTO_TRAIN=0) so timings and rankers stay fixed."""
    from townsquare.recommend.feed import reset_services
    from townsquare.understand.batch import analyze_store
    from townsquare.world import load_world

    path = tmp_path_factory.mktemp("world")
    old = {k: os.environ.get(k) for k in ("TOWNSQUARE_DATA_DIR", "TOWNSQUARE_DATABASE_URL",
                                          "TOWNSQUARE_FEED_AUTO_TRAIN")}
    url = f"sqlite:///{path / 'world.db'}"
    os.environ.update(TOWNSQUARE_DATA_DIR=str(path / "var"), TOWNSQUARE_DATABASE_URL=url,
                      TOWNSQUARE_FEED_AUTO_TRAIN="0")
    get_settings.cache_clear()
    store = Store(get_engine(url))
    load_world(SMALL_WORLD, store)
    analyze_store(store)
    yield store, SMALL_WORLD
    reset_services()
    store.engine.dispose()
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    get_settings.cache_clear()
