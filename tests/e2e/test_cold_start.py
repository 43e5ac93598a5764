"""A cold start in a real browser: a fresh server on a machine where no local AWS runs yet says at once that it is
starting one, shows the page's frame meanwhile, then fills the page in."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import _APP_SETTINGS, PROJECT_ROOT
from tests.e2e.conftest import free_port, screenshot, serve_app

pytestmark = pytest.mark.e2e


@pytest.fixture
def cold_app_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh app server whose local AWS (a state folder of its own) has never started."""
    for name in _APP_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ORDERS_LOCAL_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("ORDERS_LOCAL_PORT", "0")
    try:
        with serve_app(free_port(), "streamlit-cold-start.log") as url:
            yield url
    finally:
        stop = [sys.executable, "-m", "backend", "local", "--stop"]
        subprocess.run(stop, cwd=PROJECT_ROOT, capture_output=True, check=True, timeout=60)


def test_a_cold_start_says_it_starts_the_local_aws_then_fills_the_page_in(browser: Any, cold_app_url: str) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        tab = context.new_page()
        tab.goto(f"{cold_app_url}/queues")
        starting = tab.get_by_text("Starting the local AWS and deploying the pipeline's stack on it")
        expect(starting).to_be_visible()
        expect(tab.get_by_role("heading", name="Queues", exact=True)).to_be_visible()  # the frame, meanwhile
        expect(tab.get_by_test_id("stSidebar").get_by_role("link", name="Overview")).to_be_visible()
        screenshot(tab, "cold-start")
        expect(tab.get_by_test_id("stSidebar").get_by_text("healthy:")).to_be_visible(timeout=90_000)
        expect(tab.get_by_text("Orders queue", exact=True)).to_be_visible()
        expect(starting).to_have_count(0)
    finally:
        context.close()
