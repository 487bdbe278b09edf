"""The Respond page in a real headless Chromium: a customer chats, asks for a person, the hand-off reaches the agent
console, the agent replies, and the customer sees the reply in their chat."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser import Browser, get_json, require_chromium, stop, wait_healthy
from tests.conftest import TOWNSQUARE_BIN

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def respond_server(tmp_path, settings_env):
    """`townsquare serve` on a store holding the demo knowledge base; yields (base URL, customer key, agent key)."""
    from townsquare.auth import KeyStore
    from townsquare.respond.demo import prepare_demo
    from townsquare.store import Store
    from townsquare.store.db import get_engine

    store = Store(get_engine(settings_env.resolved_database_url))
    prepare_demo(store, settings_env.data_dir, warm=False)
    keys = KeyStore(store)
    customer, agent = keys.create("customer", "web customer")[1], keys.create("agent", "Lena")[1]
    store.engine.dispose()
    port = _free_port()
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(TOWNSQUARE_BIN), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "TOWNSQUARE_LISTEN_CONSUMER": "false"})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, base, log_path, 120)
        yield base, customer, agent
    finally:
        stop(proc)


def post_json(url: str, key: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def _use_key(b: Browser, base: str, raw: str) -> None:
    b.eval(f"localStorage.setItem('townsquare.key', {raw!r})")
    b.goto(f"{base}/?k={raw[3:11]}#/respond")  # another URL: a real reload with the new key
    b.wait_for("document.querySelector('section[data-page=respond]') && "
               "document.getElementById('page').dataset.state === 'ready'", timeout=30)


def _refused(b: Browser, log_path: Path) -> str:
    """The console's errors and the server's refused requests: a failure then says which call, when, with what."""
    refused = [line for line in log_path.read_text(errors="replace").splitlines() if '" 4' in line]
    return "\n".join(["console:", *b.console_errors, "server's 4xx answers:", *refused])


def _send(b: Browser, text: str) -> None:
    before = b.eval("document.querySelectorAll('#chat-log li.role-assistant').length")
    b.eval("document.getElementById('chat-input').scrollIntoView({block: 'center'})")
    b.type_text("#chat-input", text)
    b.click("#chat-send")
    b.wait_for(f"document.querySelectorAll('#chat-log li.role-assistant').length > {before}", timeout=120)


@pytest.mark.browser
def test_chat_hand_off_and_the_agent_console(respond_server, tmp_path):
    require_chromium()
    base, customer, agent = respond_server
    with Browser(tmp_path) as b:
        b.goto(f"{base}/")
        b.wait_for("document.getElementById('page').dataset.state")
        _use_key(b, base, customer)
        assert not b.eval("!!document.getElementById('console-panel')")  # a customer sees only the chat
        assert "Agent and admin keys" in b.text("section[data-page=respond]")

        _send(b, "How do I return an item?")
        answer = b.text("#chat-log li.role-assistant:last-child")
        assert "[1]" in answer and "Return an item" in answer
        assert b.eval("document.querySelectorAll('#chat-log li.role-assistant:last-child .chat-sources li').length") >= 1
        b.click("#chat-log li.role-assistant:last-child .rate-up")
        b.wait_for("document.querySelector('#chat-log li.role-assistant:last-child .chat-rate').innerText"
                   ".includes('Thanks')")

        _send(b, "I want to talk to a person")
        assert "hand-off" in b.text("#chat-log li.role-assistant:last-child")
        assert "colleague" in b.text("#chat-log li.role-assistant:last-child")
        b.wait_for("document.getElementById('chat-status').innerText.includes('colleague')")

        _use_key(b, base, agent)  # the agent's console
        b.wait_for("document.querySelectorAll('#handoff-list li.handoff-item').length === 1")
        assert "asked for a person" in b.text("#handoff-list")
        assert "How do I return an item?" in b.text("#handoff-list")  # the conversation's first question
        b.click("#handoff-list li.handoff-item")
        b.wait_for("!!document.getElementById('handoff-summary')")
        summary = b.text("#handoff-summary")
        assert "the customer asked for a person" in summary and "How do I return an item?" in summary
        assert "I want to talk to a person" in b.text("#agent-log")
        # the customer writes again while the agent reads: it appears in the console without a reload
        cid = get_json(f"{base}/conversations", customer)["conversations"][0]["id"]
        post_json(f"{base}/conversations/{cid}/messages", customer, {"text": "My order number is 10023"})
        b.wait_for("document.getElementById('agent-log').innerText.includes('10023')", timeout=20)
        b.eval("document.getElementById('agent-reply').scrollIntoView({block: 'center'})")  # clicks need it on screen
        b.type_text("#agent-reply", "Hi, this is Lena from Acme — I'll start the return for you now.")
        b.click("#agent-send")
        b.wait_for("document.getElementById('agent-status').innerText.includes('Sent')")
        assert "Lena from Acme" in b.text("#agent-log li.role-agent")
        b.screenshot(tmp_path / "respond-agent.png")
        if os.environ.get("TOWNSQUARE_SCREENSHOTS"):
            b.screenshot(REPO / os.environ["TOWNSQUARE_SCREENSHOTS"] / "respond-agent.png")

        # another tab switches this browser to the customer's key: the open console keeps the agent's key, so its
        # next poll is not refused (CI once caught that race between _use_key's two steps)
        b.eval(f"localStorage.setItem('townsquare.key', {customer!r})")
        time.sleep(3.5)  # longer than one poll (POLL_MS 2.5 s)
        assert not b.console_errors, _refused(b, tmp_path / "serve.log")
        _use_key(b, base, customer)  # the customer sees the agent's answer in the same conversation
        b.wait_for("document.querySelectorAll('#chat-log li.role-agent').length === 1", timeout=20)
        assert "Lena from Acme" in b.text("#chat-log li.role-agent")
        assert b.eval("document.querySelectorAll('#chat-log li.role-customer').length") == 3
        assert not b.console_errors, _refused(b, tmp_path / "serve.log")
        if os.environ.get("TOWNSQUARE_SCREENSHOTS"):
            b.screenshot(REPO / os.environ["TOWNSQUARE_SCREENSHOTS"] / "respond-chat.png")

    convs = get_json(f"{base}/conversations", customer)["conversations"]
    assert len(convs) == 1 and convs[0]["status"] == "handed_off"
