"""End to end in a real browser: place an order, see it succeed, find it on the other pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import operator_caller, poll
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e


def test_place_an_order_and_follow_it(page: Any, app_url: str) -> None:
    # A first visit straight to a page still runs the entry point: its navigation and sidebar are there.
    page.goto(f"{app_url}/orders")
    expect(page.get_by_role("heading", name="Recent orders")).to_be_visible()
    expect(page.get_by_text("Local sandbox")).to_be_visible()
    page.get_by_role("link", name="Place order").first.click()
    expect(page.get_by_role("heading", name="Place an order")).to_be_visible()
    page.get_by_label("Customer name").fill("Ada Lovelace")
    page.get_by_label("Customer email").fill("ada@example.com")
    page.get_by_role("button", name="Place order").click()

    link = page.get_by_role("link", name=re.compile(r"Open ord_[0-9a-z]{26}"))
    expect(link).to_be_visible()
    order_id = re.search(r"ord_[0-9a-z]{26}", link.inner_text()).group(0)
    expect(page.get_by_text("SUCCEEDED", exact=True).first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("NotifyConfirmed: succeeded")).to_be_visible()
    screenshot(page, "place-order")

    page.goto(f"{app_url}/order?order={order_id}")
    expect(page.get_by_text("SUCCEEDED", exact=True).first).to_be_visible()
    expect(page.locator(".js-plotly-plot").first).to_be_visible()  # the timeline; the trace's chart is below
    screenshot(page, "order")

    page.goto(f"{app_url}/orders")
    expect(page.locator("[data-testid='stDataFrame']")).to_be_visible()
    screenshot(page, "recent-orders")

    # The operator's view of the same order: the Executions page, filtered by its id.
    page.goto(f"{app_url}/executions?order={order_id}")
    expect(page.get_by_role("heading", name="Executions")).to_be_visible()
    table = page.locator("[data-testid='stDataFrame']").first
    expect(table).to_contain_text(order_id)
    expect(table).to_contain_text("SUCCEEDED")
    screenshot(page, "executions")


@pytest.fixture(scope="module")
def order_mix(local_aws: Any) -> list[str]:
    """A burst of realistic orders, finished, so the operator pages have something to show."""
    import random

    import backend
    from backend.demo.samples import random_requests

    placed = backend.submit_orders(random_requests(30, random.Random(3)), caller=operator_caller())
    ids = [order.order_id for order in placed]
    poll(lambda: all(s.outcome.terminal for s in backend.wait_for_orders(ids, 0).values()), timeout=90, what="orders")
    # CloudWatch shows data after a delay; the local AWS flushes its telemetry every few seconds.
    now = datetime.now(UTC)
    poll(
        lambda: sum(backend.queues.sqs_activity("orders", now - timedelta(hours=1), now, 60).deleted) >= len(ids),
        timeout=30,
        what="the queue activity metrics",
    )
    return ids


@pytest.mark.parametrize(
    ("path", "heading", "charts"), [("", "Overview", 0), ("queues", "Queues", 1), ("metrics", "Metrics", 2)]
)
def test_operator_pages_render(
    page: Any, app_url: str, order_mix: list[str], path: str, heading: str, charts: int
) -> None:
    page.goto(f"{app_url}/{path}")
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.locator("[data-testid='stMetric']").first).to_be_visible()
    if charts:
        expect(page.locator(".js-plotly-plot").nth(charts - 1)).to_be_visible()
    expect(page.locator("[data-testid='stException']")).to_have_count(0)
    screenshot(page, heading.lower())
