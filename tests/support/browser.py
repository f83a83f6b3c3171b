"""Headless Chromium driven through ChromeDriver's W3C WebDriver protocol (plain HTTP).

Debian's ``chromium`` and ``chromium-driver`` packages (``make setup`` installs them); the
protocol is small enough that a client of a few calls beats another dependency.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("TFX_DAGS_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("TFX_DAGS_CHROMEDRIVER", "/usr/bin/chromedriver"))
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C key of an element reference
# As root, without a GPU, and quiet: this machine's network is closed, and Chromium's
# background connections would otherwise be refused by the dozen.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
]


class WebDriverError(RuntimeError):
    pass


def require_browser() -> None:
    """Fail under CI, skip elsewhere, without Chromium and ChromeDriver."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        message = f"{', '.join(missing)} missing: `make setup` installs chromium, chromium-driver"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


class Browser:
    """One Chromium session; ``close`` ends it and its driver."""

    def __init__(self, *, port: int, log: Path) -> None:
        self._profile = tempfile.mkdtemp(prefix="tfx-dags-chromium-")
        self._driver = subprocess.Popen(
            [str(CHROMEDRIVER), f"--port={port}", f"--log-path={log}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        self._url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                self._call("GET", "/status")
                break
            except (OSError, WebDriverError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        options = {
            "binary": str(CHROMIUM),
            "args": [*CHROMIUM_ARGS, f"--user-data-dir={self._profile}"],
        }
        capabilities = {"browserName": "chrome", "goog:chromeOptions": options}
        session = self._call("POST", "/session", {"capabilities": {"alwaysMatch": capabilities}})
        self._session = f"/session/{session['sessionId']}"

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self._url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return json.loads(response.read())["value"]
        except urllib.error.HTTPError as error:
            detail = json.loads(error.read() or b"{}").get("value", {})
            raise WebDriverError(f"{method} {path}: {detail.get('message', detail)}") from None

    def _session_call(self, method: str, path: str, body: Any = None) -> Any:
        return self._call(method, self._session + path, body)

    def open(self, url: str) -> None:
        self._session_call("POST", "/url", {"url": url})

    @property
    def url(self) -> str:
        return str(self._session_call("GET", "/url"))

    def find(self, css: str, *, timeout: float = 30) -> str:
        """The first element matching ``css``, waiting for it to appear."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                found = self._session_call(
                    "POST", "/element", {"using": "css selector", "value": css}
                )
                return str(found[ELEMENT])
            except WebDriverError:
                if time.monotonic() > deadline:
                    raise WebDriverError(f"no element {css!r} on {self.url}") from None
                time.sleep(0.25)

    def type(self, element: str, text: str) -> None:
        self._session_call("POST", f"/element/{element}/value", {"text": text})

    def click(self, element: str) -> None:
        self._session_call("POST", f"/element/{element}/click", {})

    def text(self, element: str) -> str:
        return str(self._session_call("GET", f"/element/{element}/text"))

    def script(self, source: str, *args: Any) -> Any:
        return self._session_call("POST", "/execute/sync", {"script": source, "args": list(args)})

    def wait_until(self, source: str, *, timeout: float = 60, what: str) -> Any:
        """Poll the script until it returns something truthy; that value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.script(source)
            if value:
                return value
            time.sleep(0.25)
        raise WebDriverError(f"timed out after {timeout:g} s waiting for {what} on {self.url}")

    def enter_frame(self, element: str) -> None:
        self._session_call("POST", "/frame", {"id": {ELEMENT: element}})

    def leave_frames(self) -> None:
        self._session_call("POST", "/frame", {"id": None})

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self._session_call("GET", "/screenshot")))
        return path

    def close(self) -> None:
        try:
            self._session_call("DELETE", "")
        except (OSError, WebDriverError):
            pass
        self._driver.terminate()
        try:
            self._driver.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._driver.kill()
        shutil.rmtree(self._profile, ignore_errors=True)
