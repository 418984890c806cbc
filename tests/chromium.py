"""A real headless Chromium driven over the DevTools protocol, for tests of HTML pages.

``Browser.open(path)`` loads a file and records what the page did: console messages,
uncaught exceptions, log entries (blocked loads, policy violations) and every request.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--mute-audio", "--remote-debugging-port=0"]


def find_chromium() -> str | None:
    """The Chromium executable: $COSTBOOK_CHROMIUM, else the first of NAMES on PATH."""
    given = os.environ.get("COSTBOOK_CHROMIUM")
    if given:
        return given
    return next((found for name in NAMES if (found := shutil.which(name))), None)


class Page:
    """One tab, attached over a websocket."""

    def __init__(self, url: str) -> None:
        import websocket

        self.socket = websocket.create_connection(url, timeout=60, suppress_origin=True)
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Run one command and return its result (events meanwhile are kept)."""
        number = next(self.ids)
        self.socket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 60) -> dict[str, Any]:
        """The first event ``method`` (from those kept, or the next to come)."""
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event.get("method") == method:
                return event
        while time.monotonic() < deadline:
            self.socket.settimeout(max(deadline - time.monotonic(), 0.1))
            message = json.loads(self.socket.recv())
            self.events.append(message)
            if message.get("method") == method:
                return message
        raise TimeoutError(f"no {method} within {timeout} s")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions and error log entries."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning",
                                                                             "assert"):
                found.append(f"console.{params['type']}: {params['args']}")
            elif method == "Runtime.exceptionThrown":
                found.append(f"exception: {params['exceptionDetails']}")
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error",
                                                                             "warning"):
                found.append(f"log {params['entry']['level']}: {params['entry']['text']}")
        return found

    def requests(self) -> list[str]:
        """The URLs of every request the page made."""
        return [e["params"]["request"]["url"] for e in self.events
                if e.get("method") == "Network.requestWillBeSent"]

    def screenshot(self, path: Path, *, dark: bool = False) -> Path:
        """A full-page PNG of the page, in the light or dark color scheme."""
        scheme = "dark" if dark else "light"
        self.send("Emulation.setEmulatedMedia",
                  features=[{"name": "prefers-color-scheme", "value": scheme}])
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def pdf(self) -> bytes:
        """The page printed to PDF (print CSS applies)."""
        return base64.b64decode(self.send("Page.printToPDF", printBackground=True)["data"])

    def close(self) -> None:
        self.socket.close()


class Browser:
    """A headless Chromium with a fresh profile, closed (and its profile removed) on exit."""

    def __init__(self, executable: str) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="costbook-chromium-"))
        self.log = open(self.profile.with_suffix(".log"), "w+b")  # noqa: SIM115
        self.process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
        )
        self.port = self._port()

    def _port(self) -> int:
        """The DevTools port, which Chromium writes into its profile once it listens."""
        written = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            text = written.read_text() if written.exists() else ""
            if text.strip() and "\n" in text:
                return int(text.split()[0])
            time.sleep(0.05)
        self.log.seek(0)
        tail = self.log.read().decode(errors="replace")[-3000:]
        self.close()
        raise RuntimeError(f"chromium did not start:\n{tail}")

    def open(self, path: Path, *, width: int = 1100, height: int = 900) -> Page:
        """A new tab showing the file ``path``, loaded, with its events recorded."""
        with urllib.request.urlopen(  # the browser's own DevTools endpoint, on loopback
            urllib.request.Request(f"http://127.0.0.1:{self.port}/json/new?about:blank",
                                   method="PUT"), timeout=30,
        ) as answer:
            target = json.load(answer)
        page = Page(target["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Log", "Network"):
            page.send(f"{domain}.enable")
        page.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)
        page.started = time.monotonic()  # type: ignore[attr-defined]
        page.send("Page.navigate", url=path.resolve().as_uri())
        page.wait_for("Page.loadEventFired")
        page.load_seconds = time.monotonic() - page.started  # type: ignore[attr-defined]
        return page

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        os.unlink(self.log.name)
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session; skipped, saying why, where none is found."""
    executable = find_chromium()
    if executable is None:
        pytest.skip("no Chromium found (install Debian's chromium package, or set "
                    "COSTBOOK_CHROMIUM to a Chromium executable)")
    pytest.importorskip("websocket", reason="the test extra installs websocket-client")
    opened = Browser(executable)
    yield opened
    opened.close()
