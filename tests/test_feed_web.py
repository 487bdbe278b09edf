"""The Recommend page in a real headless Chromium on the demo world: any user's feed with reasons, their profile,
switching users (picker and search), an unknown user's clear message, and the A/B report panel."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.browser import Browser, get_json, require_chromium, serve_demo

REPO = Path(__file__).resolve().parents[1]
POSTS = 2_000


def _ready(b: Browser, user: int | None = None) -> None:
    cond = "document.querySelector('section[data-page=recommend]')?.dataset.state === 'ready'"
    if user is not None:
        cond += f" && document.querySelector('section[data-page=recommend]').dataset.user === '{user}'"
    b.wait_for(cond, timeout=120)


@pytest.mark.browser
@pytest.mark.slow
def test_the_recommend_page_shows_feeds_with_reasons_profiles_and_the_ab_panel(tmp_path, settings_env):
    require_chromium()
    env = {"TOWNSQUARE_FEED_AUTO_TRAIN": "0"}  # the page must work before any ranker was trained
    with serve_demo(tmp_path, POSTS, env) as (base, key), Browser(tmp_path) as b:
        users = get_json(f"{base}/recommend/users?limit=10", key)["users"]
        people = [u for u in users if not u["handle"].lower().startswith("acme")]  # not the brand's accounts
        assert len(users) == 10 and len(people) >= 2
        b.goto(f"{base}/#key={key}")
        b.wait_for("document.getElementById('page').dataset.state === 'ready'")
        b.goto(f"{base}/#/recommend")
        _ready(b, users[0]["id"])
        items = b.eval("document.querySelectorAll('.feed-item').length")
        assert items >= 5
        reasons = b.eval("[...document.querySelectorAll('.feed-item .reasons')].map(e => e.textContent)")
        assert all(len(r) > 8 for r in reasons)
        assert any(r.startswith(("because you follow", "liked by", "similar to", "matches your interest",
                                 "popular in", "trending in", "people with similar taste")) for r in reasons)
        profile = b.text(".profile")
        assert f"@{users[0]['handle']}" in profile and "Declared interests" in profile and "Active hours" in profile
        assert b.eval("document.querySelectorAll('.hours-strip span').length") == 24
        on = b.eval("getComputedStyle(document.querySelector('.hours-strip span.on')).backgroundColor")
        off = b.eval("getComputedStyle(document.querySelector('.hours-strip span:not(.on)')).backgroundColor")
        assert on != off and "0, 0, 0, 0" not in on, (on, off)  # the page's stylesheet loaded (CSP: no inline)
        assert "A/B" in b.text(".ab-box")  # the experiments panel is rendered on this page

        # another user through the picker (a real <select> change), then through the handle search
        second = people[0]
        b.eval(f"(() => {{ const s = document.getElementById('user-pick'); s.value = '{second['id']}';"
               " s.dispatchEvent(new Event('change')); })()")
        _ready(b, second["id"])
        assert f"@{second['handle']}" in b.text(".profile")
        b.wait_for("document.querySelectorAll('.feed-item').length >= 5")
        assert b.eval("location.hash") == f"#/recommend?user={second['id']}"
        third = people[1]
        shot = b.screenshot(tmp_path / "recommend.png")
        assert shot.stat().st_size > 20_000
        if os.environ.get("TOWNSQUARE_SCREENSHOTS"):
            b.screenshot(REPO / os.environ["TOWNSQUARE_SCREENSHOTS"] / "recommend.png")
        b.type_text("#user-search", third["handle"])
        _ready(b, third["id"])
        assert f"@{third['handle']}" in b.text(".profile")
        api_feed = get_json(f"{base}/users/{third['id']}/feed?k=30", key)
        shown = b.eval("[...document.querySelectorAll('.feed-item')].map(e => Number(e.dataset.post))")
        assert shown == [i["post_id"] for i in api_feed["items"]]

        # the chronological baseline, then an unknown user: a readable message, no broken page
        b.eval("(() => { const s = document.getElementById('feed-strategy'); s.value = 'chronological';"
               " s.dispatchEvent(new Event('change')); })()")
        b.wait_for("document.querySelectorAll('.feed-item').length > 0 && "
                   "[...document.querySelectorAll('.feed-item')].every(e => e.dataset.source === 'in_network')")
        b.goto(f"{base}/#/recommend?user=987654321")
        b.wait_for("document.querySelector('section[data-page=recommend]')?.dataset.state === 'error'", timeout=60)
        status = b.text("[data-role=feed-status]")
        assert "user_id" in status and "987654321" in status, status
        assert all("404" in e for e in b.console_errors), json.dumps(b.console_errors)[:2000]
