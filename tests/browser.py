"""A real headless Chromium driven over the DevTools protocol (CDP), with nothing but `websockets`.

    with Browser(tmp_path) as b:
        b.goto("http://127.0.0.1:8123/")
        b.wait_for("document.querySelector('#stat-posts')")
        b.type_text("#key-input", "ts_...")
        b.screenshot(tmp_path / "page.png")

Chromium binds its DevTools port on 127.0.0.1 and is launched with a fresh profile and no background traffic.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("TOWNSQUARE_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync", "--disable-extensions", "--disable-crash-reporter", "--disable-breakpad", "--disable-default-apps", "--mute-audio",
    "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--window-size=1280,900",
]


def require_chromium() -> str:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"headless Chromium not found at {CHROMIUM}: `apt-get install -y chromium` "
                    "(or set TOWNSQUARE_CHROMIUM) to run the browser tests")
    return CHROMIUM


class BrowserError(AssertionError):
    pass


class Browser:
    def __init__(self, tmp_path: Path, width: int = 1280, height: int = 900):
        from websockets.sync.client import connect

        profile = tmp_path / "chromium-profile"
        profile.mkdir(parents=True, exist_ok=True)
        port_file = profile / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)  # a reused profile keeps the last run's port
        self.ws = None
        self._stack = ExitStack()  # holds the websocket connection
        self.proc = subprocess.Popen([require_chromium(), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while not (port_file.exists() and port_file.read_text().strip()):
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise BrowserError("chromium did not open its DevTools port within 30 s")
                time.sleep(0.05)
            port = int(port_file.read_text().split()[0])
            targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
            page = next(t for t in targets if t["type"] == "page")
            self.ws = self._stack.enter_context(connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=10))
            self._ids = itertools.count(1)
            self.console_errors: list[str] = []
            for domain in ("Page", "Runtime", "Log"):
                self.send(f"{domain}.enable")
            self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                      mobile=False)
        except BaseException:
            self.close()  # never leave a browser behind
            raise

    # ---- protocol ------------------------------------------------------------------------------
    def send(self, method: str, timeout: float = 30, **params: Any) -> dict:
        msg_id = next(self._ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"no answer to {method} within {timeout} s")
            msg = json.loads(self.ws.recv(timeout=left))
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise BrowserError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self._event(msg)

    def _event(self, msg: dict) -> None:
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.console_errors.append(details.get("exception", {}).get("description") or details.get("text", ""))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]  # a failed request's line names no URL: add it, so a failure says which call
            self.console_errors.append(entry["text"] + (f" ({entry['url']})" if entry.get("url") else ""))

    # ---- what a test does ----------------------------------------------------------------------
    def goto(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def eval(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r} threw {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20) -> Any:
        """Poll `expression` until it is truthy; returns its value. (A DOM node comes back as {}: use `!!node`.)"""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = self.eval(expression)
            except BrowserError:
                value = None  # e.g. during a navigation
            if value:
                return value
            time.sleep(0.1)
        raise BrowserError(f"waited {timeout} s for {expression!r}; page text: {self.text()[:500]!r}")

    def text(self, selector: str = "body") -> str:
        return self.eval(f"(document.querySelector({json.dumps(selector)}) || {{}}).innerText || ''")

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element."""
        box = self.wait_for(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)})?.getBoundingClientRect();"
            " return r && r.width ? [r.x + r.width / 2, r.y + r.height / 2] : null; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def type_text(self, selector: str, text: str) -> None:
        """Focus the element and type into it as a keyboard would (input events fire)."""
        self.click(selector)
        self.send("Input.insertText", text=text)

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        self.send("Input.dispatchMouseEvent", type="mouseMoved", x=0, y=0)  # no hover effects in the picture
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params |= {"captureBeyondViewport": True,
                       "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}}
        data = self.send("Page.captureScreenshot", **params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        self._stack.close()
        stop(self.proc, timeout=10)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """Terminate a server a test started; kill it if it does not exit within `timeout` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str, key: str | None = None) -> dict:
    req = urllib.request.Request(url, headers={"X-API-Key": key} if key else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def wait_healthy(proc: subprocess.Popen, base: str, log_path: Path, seconds: float) -> None:
    """Until `serve` answers /health; fail with its log if it exits or takes longer than `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        if proc.poll() is not None:
            pytest.fail(f"serve exited with {proc.returncode}:\n{log_path.read_text()}")
        try:
            if get_json(f"{base}/health")["status"] == "ok":
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"serve did not answer /health within {seconds:.0f} s:\n{log_path.read_text()}")
        time.sleep(0.25)


@contextmanager
def serve_demo(tmp_path: Path, posts: int, env: dict[str, str] | None = None):
    """`townsquare serve --demo --demo-posts N` on a free loopback port; yields (base URL, admin key)."""
    import re

    from tests.conftest import TOWNSQUARE_BIN

    port = _free_port()
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(TOWNSQUARE_BIN), "serve", "--demo", "--demo-posts", str(posts), "--host", "127.0.0.1",
             "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, base, log_path, 240)
        output = log_path.read_text()
        key = re.search(r"admin key \(local demo.*\): (ts_\S+)", output)
        assert key, f"the demo printed no admin key:\n{output}"
        assert f"dashboard, signed in: {base}/#key={key.group(1)}" in output
        yield base, key.group(1)
    finally:
        stop(proc)
