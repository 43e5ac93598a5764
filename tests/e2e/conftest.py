"""A real `streamlit run` server on the session's local AWS, and a real Chromium driven by Playwright."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT_ROOT, poll

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(os.environ.get("ORDERS_SCREENSHOT_DIR", PROJECT_ROOT / "tests" / "e2e" / "artifacts"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:  # noqa: S310 - loopback
            return response.read() == b"ok"
    except OSError:
        return False


@contextlib.contextmanager
def serve_app(
    port: int, log_name: str, extra_args: Sequence[str] = (), env: dict[str, str] | None = None
) -> Iterator[str]:
    """`streamlit run` of the app on 127.0.0.1:port, attached to the session's local AWS; yields its URL."""
    url = f"http://127.0.0.1:{port}"
    log = open(PROJECT_ROOT / "tests" / "e2e" / log_name, "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
         *extra_args],
        cwd=PROJECT_ROOT, env=os.environ.copy() | (env or {}), stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        poll(lambda: _healthy(url) or server.poll() is not None, timeout=60, what="streamlit to answer")
        assert server.poll() is None, f"streamlit exited; see tests/e2e/{log_name}"
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a busy server (a demo's thread sending) may not stop in time
            server.kill()
            server.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def app_url(local_aws: Any) -> Iterator[str]:
    """The app served by `streamlit run`, attached to the session's local AWS through the same state folder."""
    with serve_app(free_port(), "streamlit.log") as url:
        yield url


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    """Playwright, once per test process (its sync API runs one instance at a time)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium and chromium-driver (make test does)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)  # pages render slower on a loaded 2-core CI machine than in 5 s
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright."""
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser: Any, app_url: str) -> Iterator[Any]:
    """A fresh browser tab at a desktop size."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save what the tab shows down to the end of the page's content, for the README and for debugging (Streamlit
    scrolls inside its main area, so a full-page screenshot is the window: a tall tab shows a long page whole)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    bottom = page.evaluate(
        """() => Math.max(0, ...['stMainBlockContainer', 'stSidebarUserContent'].map(
            (id) => document.querySelector(`[data-testid="${id}"]`)?.getBoundingClientRect().bottom ?? 0))"""
    )
    size = page.viewport_size
    height = min(size["height"], int(bottom) + 48) if bottom else size["height"]
    page.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": size["width"], "height": height})
    return path
