"""How fast a page appears in a real browser: the app's pages beside a trivial two-page st.navigation app, in one
run, both served as `make run` serves them (this checkout's .venv/bin/streamlit, the project's .streamlit/config.toml
for the app); then the cold start of a fresh server with no local AWS running yet.

    .venv/bin/python bench/page_speed.py --samples 15 --cold 3

Warm: a private local AWS (its own state folder and port) is started first, each server gets one warm-up visit, then
every sample opens each URL in a new browser context (a new tab, a new Streamlit session) and times, from the
navigation's start, the first render of the page's heading. Cold: a fresh state folder and a fresh app server; the
first visit to / times the first "Starting the local AWS" message, the heading and the sidebar's "healthy" line, and
whether Streamlit's pages/ folder discovery ever listed the app's private modules. Figures are printed, never
asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
STREAMLIT = ROOT / ".venv" / "bin" / "streamlit"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# The app's pages measured warm, with the heading each one shows.
APP_PAGES = {"": "Overview", "queues": "Queues", "orders": "Recent orders", "place": "Place an order"}
TRIVIAL_PAGES = {"": "Page one", "two": "Page two"}
STARTING = "Starting the local AWS"  # the cold start's first words
HEALTHY = "healthy:"  # the sidebar's line once the local AWS answers
PRIVATE = ["data", "shared", "time", "workflow", "ui"]  # modules pages/ folder discovery would list as pages
APP_SETTINGS = ("ORDERS_STACK_NAME", "AWS_ENDPOINT_URL", "AWS_PROFILE", "ORDERS_AUTH", "ORDERS_LOCAL_TEMPLATE")
TRIVIAL_APP = {
    "app.py": 'import streamlit as st\n\nst.navigation([st.Page("one.py", default=True), st.Page("two.py")]).run()\n',
    "one.py": 'import streamlit as st\n\nst.title("Page one")\nst.write("The first page.")\n',
    "two.py": 'import streamlit as st\n\nst.title("Page two")\nst.write("The second page.")\n',
}
# Streamlit's running indicator (its icon) is gone: the page's run is over.
RUNNING = '[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunningManIcon"]'
IDLE = f"() => !document.querySelector('{RUNNING}')"
# Records, from the navigation's start (performance.now()), when each watched thing first appeared in the document.
WATCH = """
(() => {
  const want = %s;
  window.__seen = {};
  const check = () => {
    const now = performance.now();
    const seen = window.__seen;
    if (!seen.shell && document.querySelector('[data-testid="stAppViewContainer"]')) seen.shell = now;
    if (!seen.heading && [...document.querySelectorAll("h1")].some((h) => h.textContent.trim() === want.heading))
      seen.heading = now;
    const text = document.body ? document.body.innerText : "";
    if (!seen.starting && text.includes(want.starting)) seen.starting = now;
    const sidebar = document.querySelector('[data-testid="stSidebar"]');
    if (!seen.healthy && sidebar && sidebar.innerText.includes(want.healthy)) seen.healthy = now;
    const links = [...document.querySelectorAll('[data-testid="stSidebarNav"] a')].map((a) => a.innerText.trim());
    if (!seen.private && links.some((name) => want.private.includes(name))) seen.private = now;
  };
  new MutationObserver(check).observe(document, {childList: true, subtree: true, characterData: true});
})();
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(state: str) -> dict[str, str]:
    """This process's environment, pointed at a private local AWS, without settings that lead elsewhere."""
    env = {name: value for name, value in os.environ.items() if name not in APP_SETTINGS}
    return env | {"ORDERS_LOCAL_STATE_DIR": state, "ORDERS_LOCAL_PORT": "0"}


def wait_healthy(url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"streamlit exited ({server.returncode}) before answering at {url}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:  # noqa: S310
            if answer.read() == b"ok":
                return
        time.sleep(0.1)
    raise SystemExit(f"streamlit did not answer at {url} within {timeout:.0f} s")


@contextlib.contextmanager
def serve(script: str, cwd: Path, env: dict[str, str]) -> Iterator[str]:
    """`streamlit run script` as `make run` starts it (the project's options come from cwd/.streamlit/config.toml)."""
    port = free_port()
    server = subprocess.Popen(
        [str(STREAMLIT), "run", script, "--server.port", str(port), "--server.headless", "true"],
        cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, server)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def visit(
    browser: Any,
    url: str,
    heading: str,
    until: tuple[str, ...] = ("heading",),
    timeout_ms: float = 60_000,
    context: Any = None,
) -> dict[str, float]:
    """Open url in a new tab (of context, or of a new context: nothing cached), wait until every thing of until was
    seen; return the milliseconds from the navigation's start to each thing seen."""
    want = {"heading": heading, "starting": STARTING, "healthy": HEALTHY, "private": PRIVATE}
    own = context is None
    context = context or browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    try:
        tab.add_init_script(WATCH % json.dumps(want))
        tab.goto(url, wait_until="commit")
        seen_all = " && ".join(f"window.__seen.{name}" for name in until)
        tab.wait_for_function(f"() => window.__seen && {seen_all}", timeout=timeout_ms, polling=50)
        seen = dict(tab.evaluate("() => window.__seen"))
        # Let the page finish its run (Streamlit's running indicator gone) before the next tab, so that every sample
        # meets an idle server rather than the rest of the previous page's run.
        with contextlib.suppress(PlaywrightTimeout):
            tab.wait_for_function(IDLE, timeout=30_000, polling=100)
        return seen
    finally:
        tab.close()
        if own:
            context.close()


def summary(values: list[float]) -> str:
    median, low, high = (statistics.median(values) / 1000, min(values) / 1000, max(values) / 1000)
    return f"median {median:5.2f} s  min {low:5.2f}  max {high:5.2f}"


def warm(browser: Any, samples: int, app_url: str, trivial_url: str) -> None:
    targets = [("app", app_url, path, heading) for path, heading in APP_PAGES.items()]
    targets += [("trivial", trivial_url, path, heading) for path, heading in TRIVIAL_PAGES.items()]
    for _, base, path, heading in targets:  # each server's first session pays for its imports: not measured
        visit(browser, f"{base}/{path}", heading)
    # A new tab of one browser window (its cache holds Streamlit's scripts), then a new browser profile each time.
    window = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        for label, context in (("a new tab, the browser's cache warm", window), ("a new browser profile", None)):
            times: dict[tuple[str, str], list[float]] = {(kind, path): [] for kind, _, path, _ in targets}
            for _ in range(samples):  # interleaved, so both apps meet the same machine load
                for kind, base, path, heading in targets:
                    times[kind, path].append(visit(browser, f"{base}/{path}", heading, context=context)["heading"])
            print(f"\nWarm server, {label}: the heading, {samples} samples per URL, from the navigation's start")
            for (kind, path), values in times.items():
                print(f"  {kind:<8} /{path:<10} {summary(values)}")
            app = [value for (kind, _), values in times.items() if kind == "app" for value in values]
            trivial = [value for (kind, _), values in times.items() if kind == "trivial" for value in values]
            print(f"  {'app':<8} {'all':<11} {summary(app)}")
            print(f"  {'trivial':<8} {'all':<11} {summary(trivial)}")
            print(f"  ratio of medians (app / trivial): {statistics.median(app) / statistics.median(trivial):.2f}")
    finally:
        window.close()


def cold(browser: Any, runs: int) -> None:
    print(f"\nCold: the first visit to / of a fresh server with no local AWS running ({runs} runs)")
    results: list[dict[str, float]] = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="bench-page-speed-") as state:
            env = environment(state)
            try:
                with serve("streamlit_app.py", ROOT, env) as url:
                    results.append(
                        visit(browser, f"{url}/", "Overview", until=("heading", "healthy"), timeout_ms=120_000)
                    )
            finally:
                subprocess.run([sys.executable, "-m", "backend", "local", "--stop"], cwd=ROOT, env=env, check=False,
                               stdout=subprocess.DEVNULL)  # fmt: skip
    labels = {
        "shell": "Streamlit's empty page",
        "starting": f"'{STARTING}'",
        "heading": "heading",
        "healthy": "sidebar healthy",
    }
    for name, label in labels.items():
        values = [result[name] for result in results if name in result]
        shown = summary(values) if values else "never shown"
        print(f"  {label:<26} {shown}" + (f" ({len(values)} of {runs} runs)" if values and len(values) < runs else ""))
    private = sum(1 for result in results if "private" in result)
    print(f"  pages/ discovery listed private modules in the sidebar: {private} of {runs} runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=15, help="warm visits per URL (default 15)")
    parser.add_argument("--cold", type=int, default=3, help="cold starts (default 3; 0 skips them)")
    args = parser.parse_args()
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            if args.samples:
                with (
                    tempfile.TemporaryDirectory(prefix="bench-page-speed-") as state,
                    tempfile.TemporaryDirectory(prefix="bench-trivial-app-") as trivial_dir,
                ):
                    env = environment(state)
                    for name, text in TRIVIAL_APP.items():
                        (Path(trivial_dir) / name).write_text(text)
                    # The same server options as the app's (make run reads them from .streamlit/config.toml).
                    (Path(trivial_dir) / ".streamlit").mkdir()
                    shutil.copy(ROOT / ".streamlit" / "config.toml", Path(trivial_dir) / ".streamlit")
                    subprocess.run([sys.executable, "-m", "backend", "local"], cwd=ROOT, env=env, check=True,
                                   stdout=subprocess.DEVNULL)  # fmt: skip
                    try:
                        with (
                            serve("streamlit_app.py", ROOT, env) as app_url,
                            serve("app.py", Path(trivial_dir), env) as trivial_url,
                        ):
                            warm(browser, args.samples, app_url, trivial_url)
                    finally:
                        subprocess.run([sys.executable, "-m", "backend", "local", "--stop"], cwd=ROOT, env=env,
                                       check=False, stdout=subprocess.DEVNULL)  # fmt: skip
            if args.cold:
                cold(browser, args.cold)
        finally:
            browser.close()


if __name__ == "__main__":
    main()
