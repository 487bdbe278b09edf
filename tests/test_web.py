"""The web dashboard: the static shell over HTTP, then a real headless Chromium against `townsquare serve --demo`."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.browser import Browser, get_json, require_chromium, serve_demo
from townsquare.api import create_app
from townsquare.web import PAGES, STATIC_DIR

JOBS = ["Listen", "Understand", "Recommend", "Create", "Respond"]
DEMO_POSTS = 600  # small world: the test is about the dashboard, not the generator
REPO = Path(__file__).resolve().parents[1]


def test_the_shell_is_public_self_contained_and_one_module_per_page(tmp_store, settings_env):
    with TestClient(create_app(settings_env)) as client:
        r = client.get("/")
        assert r.status_code == 200 and "text/html" in r.headers["content-type"]
        assert "script-src 'self'" in r.headers["content-security-policy"]
        nav = re.findall(r'<a href="#/(\w+)" data-page="\w+">([^<]+)</a>', r.text)
        assert [label for _, label in nav] == ["Overview", *JOBS] and [p for p, _ in nav] == PAGES
        for ref in re.findall(r'(?:src|href)="(/static/[^"]+)"', r.text):
            assert client.get(ref).status_code == 200, ref
        for page in PAGES:
            js = client.get(f"/static/pages/{page}.js")
            assert js.status_code == 200 and "javascript" in js.headers["content-type"]
            assert "export default" in js.text
        assert client.get("/static/app.js").headers["cache-control"] == "no-cache"
    for path in STATIC_DIR.rglob("*"):  # no CDN, no fonts from the internet: the demo runs offline
        if path.is_file() and path.suffix in (".html", ".js", ".css"):
            text = path.read_text()
            if "vendor" in path.parts:  # third-party code cites URLs in comments; it must not load from them
                text = re.sub(r"/\*.*?\*/|^\s*//[^\n]*", "", text, flags=re.S | re.M)
            assert not re.search(r"https?://(?!www\.w3\.org/(2000/svg|1999/xlink))", text), path


@pytest.fixture
def demo_server(tmp_path, settings_env):
    """`townsquare serve --demo` on a free loopback port and a fresh data dir; yields (base URL, admin key)."""
    with serve_demo(tmp_path, DEMO_POSTS) as server:
        yield server


@pytest.mark.browser
def test_dashboard_in_a_real_browser(demo_server, tmp_path):
    require_chromium()
    base, key = demo_server
    truth = get_json(f"{base}/overview", key)
    assert truth["posts"] >= DEMO_POSTS * 0.9  # the demo loaded a world
    english = get_json(f"{base}/posts?lang=en&limit=1", key)["posts"][0]["text"]
    word = max(re.findall(r"[A-Za-z]{5,}", english), key=len)

    with Browser(tmp_path) as b:
        b.goto(base + "/")
        # First visit: no key yet, so the shell asks for one.
        b.wait_for("document.getElementById('key-dialog').open")
        assert b.eval("document.getElementById('page').dataset.state") == "needs-key"
        b.type_text("#key-input", key[:-3] + "xyz")  # a wrong key is refused with the API's reason
        b.click("#key-save")
        b.wait_for("!document.getElementById('key-error').hidden")
        assert "unknown or revoked" in b.text("#key-error")
        b.eval("document.getElementById('key-input').value = ''")
        b.type_text("#key-input", key)
        b.click("#key-save")

        # The overview shows the store's real numbers.
        b.wait_for("document.getElementById('page').dataset.state === 'ready'")
        assert b.text("#stat-posts") == f"{truth['posts']:,}"
        assert b.text("#stat-authors") == f"{truth['authors']:,}"
        assert b.text("#who-role").startswith("admin")
        bars = b.eval("document.querySelectorAll('svg.chart rect.bar').length")
        assert bars == len(truth["by_day"]) == 30
        assert b.eval("document.querySelectorAll('#latest-posts li.post').length") == 20
        for lang in truth["by_lang"][:2]:
            assert f"({lang['lang']})" in b.text("section.page")
        b.eval("document.getElementById('toast').hidden = true")  # the "key saved" note would cover the filters
        shot = b.screenshot(tmp_path / "dashboard.png")
        assert shot.stat().st_size > 20_000
        if os.environ.get("TOWNSQUARE_SCREENSHOTS"):  # `TOWNSQUARE_SCREENSHOTS=docs/screenshots pytest ...`
            b.screenshot(REPO / os.environ["TOWNSQUARE_SCREENSHOTS"] / "dashboard.png")

        # The filter box narrows the latest posts through the API.
        b.type_text("#filter-contains", word)
        b.wait_for(f"document.getElementById('latest-status').textContent.includes('matching') && "
                   f"[...document.querySelectorAll('#latest-posts .post-text')].every("
                   f"p => p.textContent.toLowerCase().includes({json.dumps(word.lower())}))")
        assert b.eval("document.querySelectorAll('#latest-posts li.post').length") >= 1

        # Each job has its page; the nav marks where you are; the key survives a reload.
        for job in JOBS:
            b.click(f'nav.jobs a[data-page="{job.lower()}"]')
            b.wait_for(f"document.querySelector('section.page[data-page={job.lower()}] h1')?.textContent === '{job}'")
            assert b.eval("document.querySelector('nav.jobs a.active').textContent") == job
        # Understand: the example posts are analysed through POST /analyze and shown with their labels.
        b.click('nav.jobs a[data-page="understand"]')
        b.wait_for("document.querySelectorAll('#analyze-results li.analysis').length === 4", timeout=60)
        cards = b.eval("[...document.querySelectorAll('#analyze-results li.analysis')].map(li => li.textContent)")
        assert "negative" in cards[2] and "PII: email" in cards[1]
        notes = b.eval("[...document.querySelectorAll('#analyze-results li.analysis')].map(li => "
                       "[...li.querySelectorAll('.meter')].map(m => m.title))")
        assert "weak signal" in notes[0][3] and "no Chinese post" not in notes[0][3]  # irony, on an English post
        assert all("no Chinese post" in note for note in notes[2])  # every head on a Chinese post says so
        b.screenshot(tmp_path / "understand.png")
        if os.environ.get("TOWNSQUARE_SCREENSHOTS"):
            b.screenshot(REPO / os.environ["TOWNSQUARE_SCREENSHOTS"] / "understand.png")

        b.goto(base + "/#/overview")
        b.wait_for("!!document.getElementById('stat-posts')")
        assert b.eval("document.getElementById('key-dialog').open") is False
        unexpected = [e for e in b.console_errors if "status of 401" not in e]  # the wrong key above
        assert unexpected == [], unexpected
