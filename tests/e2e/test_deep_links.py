"""Deep links in a real browser: every page URL, with its query, as the very first request to a freshly started
server and after a reload; and the first render of a fresh server never shows Streamlit's pages/ folder menu."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from pages.ui.menu import SECTIONS
from tests.conftest import PROJECT_ROOT, operator_caller, order_request, poll
from tests.e2e.conftest import free_port, screenshot, serve_app

pytestmark = pytest.mark.e2e

# Every page of the app: its URL (ORDER stands for a real order's id) and the heading it shows.
PAGES = {
    "": "Overview",
    "overview": "Overview",  # the default page's URL while Streamlit's pages/ folder discovery serves a fresh server
    "queues": "Queues",
    "executions?order=ORDER": "Executions",
    "metrics": "Metrics",
    "functions": "Functions",
    "place": "Place an order",
    "orders": "Recent orders",
    "order?order=ORDER": "Order",
    "notifications": "Notifications",
}
# The app's menu, top to bottom.
MENU = [entry.title for entries in SECTIONS.values() for entry in entries]

# The riskiest URLs, each opened as the first request to a server of its own.
COLD = ["place", "order?order=ORDER", "executions?order=ORDER"]
# What Streamlit's pages/ folder discovery would list besides the pages, had it a menu: the entry point, the shared UI
# modules, and those the pages had before they moved into pages/ui.
PRIVATE = {"streamlit app", "data", "shared", "time", "workflow"} | {
    path.stem for path in (PROJECT_ROOT / "pages" / "ui").glob("*.py") if path.stem != "__init__"
}
# Records every menu Streamlit draws itself (stSidebarNav) from the document's very first render on, with its links.
WATCH_SIDEBAR = """
window.__streamlitMenus = [];
new MutationObserver(() => {
  for (const nav of document.querySelectorAll('[data-testid="stSidebarNav"]')) {
    window.__streamlitMenus.push([...nav.querySelectorAll("a")].map((link) => link.innerText.trim()));
  }
}).observe(document, {childList: true, subtree: true});
"""


@pytest.fixture(scope="module")
def order_id(local_aws: Any) -> str:
    """A real order that has finished, for the links that name one."""
    import backend

    placed = backend.submit_orders([order_request()], caller=operator_caller())[0].order_id
    poll(lambda: backend.wait_for_orders([placed], 0)[placed].outcome.terminal, timeout=60, what="the order")
    return placed


def check_page(tab: Any, url: str, heading: str, order_id: str, name: str) -> None:
    """The page at url shows its heading and its order, stays at its URL and never says "Page not found"."""
    try:
        expect(tab.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        # The query reached the page: the order page fills its input, Executions filters its table by it.
        if heading == "Order":
            expect(tab.get_by_label("Order id")).to_have_value(order_id)
        elif "ORDER" in name:
            expect(tab.get_by_test_id("stDataFrame").first).to_contain_text(order_id)
        expect(tab).to_have_url(url)
        expect(tab.get_by_text("Page not found")).to_have_count(0)
        expect(tab.get_by_test_id("stException")).to_have_count(0)
    except AssertionError:
        screenshot(tab, f"deep-link-{re.sub(r'[^a-z]+', '-', name or 'overview')}")
        raise


def open_and_reload(browser: Any, base: str, path: str, order_id: str) -> None:
    """Open the URL in a new browser tab, check the page, reload, check it again; Streamlit's own menu never shows."""
    url = f"{base}/{path.replace('ORDER', order_id)}"
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        tab = context.new_page()
        tab.add_init_script(WATCH_SIDEBAR)
        tab.goto(url)
        check_page(tab, url, PAGES[path], order_id, path)
        assert tab.evaluate("window.__streamlitMenus") == []
        tab.reload()
        check_page(tab, url, PAGES[path], order_id, path)
        assert tab.evaluate("window.__streamlitMenus") == []
    finally:
        context.close()


@pytest.fixture
def fresh_app_url(local_aws: Any) -> Iterator[str]:
    """A freshly started app server that has had no request yet (the health check is no page request)."""
    with serve_app(free_port(), "streamlit-cold.log") as url:
        yield url


def test_the_first_render_of_a_fresh_server_lists_only_the_apps_pages(browser: Any, fresh_app_url: str) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        tab = context.new_page()
        tab.add_init_script(WATCH_SIDEBAR)
        tab.goto(fresh_app_url)
        expect(tab.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
        sidebar = tab.get_by_test_id("stSidebar")
        expect(sidebar.get_by_text("healthy:")).to_be_visible()  # the sidebar is whole
        expect(sidebar.get_by_role("link", name=MENU[-1])).to_be_visible()  # and the menu, drawn after the heading
        # A link's text is its icon's name, then its label.
        links = [text.split("\n")[-1].strip() for text in sidebar.get_by_role("link").all_inner_texts()]
        assert links == MENU
        assert not set(links) & PRIVATE
        # Not even for a moment: Streamlit's own menu (of the pages/ folder, or of st.navigation) never rendered.
        assert tab.evaluate("window.__streamlitMenus") == []
    finally:
        context.close()


@pytest.mark.parametrize("path", COLD)
def test_deep_link_as_the_first_request(browser: Any, fresh_app_url: str, order_id: str, path: str) -> None:
    open_and_reload(browser, fresh_app_url, path, order_id)


def test_pages_opened_at_once_as_the_first_requests(browser: Any, fresh_app_url: str, order_id: str) -> None:
    # Their first runs import the pages' shared modules at the same time, while one of them reruns its session.
    paths = ["metrics", "queues", "order?order=ORDER"]
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in paths]
    expect.set_options(timeout=90_000)  # three first runs at once take longer on a loaded 2-core machine
    try:
        tabs = [context.new_page() for context in contexts]
        for tab, path in zip(tabs, paths, strict=True):
            tab.goto(f"{fresh_app_url}/{path.replace('ORDER', order_id)}", wait_until="commit")
        for tab, path in zip(tabs, paths, strict=True):
            check_page(tab, f"{fresh_app_url}/{path.replace('ORDER', order_id)}", PAGES[path], order_id, path)
    finally:
        expect.set_options(timeout=30_000)  # the browser fixture's
        for context in contexts:
            context.close()


def test_the_other_page_urls_survive_a_reload(browser: Any, app_url: str, order_id: str) -> None:
    for path in [path for path in PAGES if path not in COLD]:
        open_and_reload(browser, app_url, path, order_id)


def test_every_page_of_the_menu_is_opened_here() -> None:
    scripts = {entry.script.removeprefix("pages/").removesuffix(".py") for e in SECTIONS.values() for entry in e}
    assert scripts <= {url.split("?")[0] for url in PAGES}
