"""A demo run walked in a real browser (issue 12): started from its button at the quick pace, one of its failed orders
followed on the Order page (graph, logs, what the customer was told), the failed-executions alarm turning red on
Overview and back to OK, every time with its zone (UTC, then the browser's), and the order's URL as the first
request to a freshly started server. About 2.5 minutes: the alarms judge real minutes. Its screenshots are the
README's: `make screenshots` takes them into docs/screenshots."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.conftest import poll
from tests.e2e.conftest import free_port, screenshot, serve_app

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

ZONE = "Asia/Tokyo"  # the browser's zone, nine hours from UTC all year
ALARM = "WorkflowExecutionsFailedAlarm"
# The alarm judges whole minutes 10 s after they end: it fires up to ~80 s after the first failed order ends, and
# clears up to ~2.5 min after the last (both from the local AWS's evaluation, with the template's periods).
FIRES_MS, CLEARS_MS = 150_000, 240_000
TALL = {"width": 1400, "height": 3000}
LOAD_MS = 90_000  # a page's charts and tables render in seconds, or a minute on a 2-core machine under load


def alarm_state(name: str) -> str:
    from backend import alarms

    return next(alarm.state for alarm in alarms.stack_alarms() if alarm.label == name)


@pytest.fixture
def demo_app_url(local_aws: Any) -> Iterator[str]:
    """An app server of this test's own: the demo runs inside it, and ends with it if the test fails."""
    # A failure of an earlier test in this session may have the alarm red already: the walk must see it turn.
    poll(lambda: alarm_state(ALARM) != "ALARM", timeout=180, interval=2, what=f"{ALARM} to be OK before the demo")
    with serve_app(free_port(), "streamlit-demo.log") as url:
        yield url


@pytest.fixture
def new_tab(browser: Any) -> Iterator[Callable[[], Any]]:
    """Opens tabs in windows of their own (a background tab may not render) in the browser's zone, tall enough
    for a long page to fit whole in a screenshot. Their checks wait longer: the demo keeps the machine busy."""
    contexts = []
    expect.set_options(timeout=LOAD_MS)

    def opened() -> Any:
        contexts.append(browser.new_context(viewport=TALL, timezone_id=ZONE))
        contexts[-1].set_default_timeout(LOAD_MS)
        return contexts[-1].new_page()

    yield opened
    expect.set_options(timeout=30_000)  # the browser fixture's
    for context in contexts:
        context.close()


def failed_order(since: datetime) -> Any:
    """An order of the demo's outage that has ended OrderFailed, once there is one."""
    import backend

    return next((o for o in backend.list_orders(limit=200) if o.started_at >= since and o.error == "OrderFailed"), None)


def table(tab: Any, containing: str) -> Any:
    """The dataframe with that text (its cells are in the page as an accessible table)."""
    return tab.get_by_test_id("stDataFrame").filter(has_text=containing)


def logs_table(tab: Any) -> Any:
    """The Order page's log lines (its trace's table names the functions too, but has no Level)."""
    return table(tab, "send-notification").filter(has=tab.locator("th", has_text="Level"))


def alarm_row(tab: Any) -> Any:
    # The Alarms table, by its Since column (the alarm history's tables name the alarm too). Not by its last column:
    # the grid's accessible table holds only the columns in view, and long reasons push that one out of it.
    alarms = tab.get_by_test_id("stDataFrame").filter(has=tab.locator("th", has_text="Since"))
    return alarms.locator("tr", has_text=ALARM)


def test_a_demo_run_in_the_browser(new_tab: Callable[[], Any], demo_app_url: str) -> None:
    place, order_tab, overview = new_tab(), new_tab(), new_tab()

    # Start the demo as a user does: Place order, Run the demo, the quick pace.
    place.goto(f"{demo_app_url}/place")
    expect(place.get_by_role("heading", name="Place an order")).to_be_visible()
    place.get_by_text("Run the demo").first.click()
    place.get_by_role("radio", name=re.compile(r"^Quick")).click()
    started = datetime.now(UTC)
    place.get_by_role("button", name="Run the demo").click()
    expect(place.get_by_text(re.compile(r"Step 1 of 4 \(steady\)"))).to_be_visible()

    # The run is followed on a second app server, as another operator would: the demo's own server is busy sending
    # its orders. The first request that server ever gets is one of the demo's order URLs (a cold deep link).
    with serve_app(free_port(), "streamlit-cold-demo.log") as url:
        order = poll(lambda: failed_order(started), timeout=180, interval=1, what="an order of the outage to fail")
        order_url = f"{url}/order?order={order.order_id}"
        order_tab.goto(order_url)

        # The outage trips the failed-executions alarm: red on Overview for a minute or so, with since when.
        overview.bring_to_front()
        overview.goto(url)
        expect(alarm_row(overview)).to_contain_text("🔴 ALARM", timeout=FIRES_MS)
        expect(alarm_row(overview)).to_contain_text(re.compile(r"\d\d:\d\d:\d\d UTC"))
        # Its story: the change into ALARM in the alarm history, and a period still open.
        fired = table(overview, "Change").locator("tr", has_text=ALARM).filter(has_text="→ ALARM")
        expect(fired.first).to_be_attached(timeout=FIRES_MS)  # the history refreshes every 30 s
        periods = table(overview, "Duration").locator("tr", has_text=ALARM)  # an earlier test's period may be there
        expect(periods.filter(has_text="still in ALARM").first).to_be_attached()
        screenshot(overview, "overview")

        # Meanwhile the order's page has rendered: graph, what the customer was told, its log lines.
        # Each tab is brought to the front before it is read: a tab behind another draws no dataframe (the grid
        # renders on animation frames, which Chromium does not give a hidden page).
        order_tab.bring_to_front()
        expect(order_tab.get_by_label("Order id")).to_have_value(order.order_id)
        check_failed_order(order_tab, order.order_id)
        # Its trace: the message, the starter's batch, each attempt of the payment with its request id.
        trace = table(order_tab, "Request id")
        expect(trace.locator("tr", has_text="Starter batch")).to_have_count(1)
        expect(trace.locator("tr", has_text="ProcessPayment").first).to_contain_text(re.compile(r"[0-9a-f-]{36}"))
        expect(order_tab).to_have_url(order_url)
        expect(order_tab.get_by_test_id("stMetricValue").first).to_have_text(f"{order.started_at:%H:%M:%S} UTC")
        notice = order_tab.get_by_text(re.compile(r"^FAILED · \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$"))
        expect(notice).to_be_visible()
        expect(logs_table(order_tab).locator("th", has_text="Time (UTC)")).to_have_count(1)
        screenshot(order_tab, "order")

        # The browser's zone: every time on the page moves to it, still saying which it is.
        order_tab.get_by_role("combobox", name="Times in").click()
        order_tab.get_by_role("option", name=f"Browser ({ZONE})").click()
        local = order.started_at.astimezone(ZoneInfo(ZONE))
        expect(order_tab.get_by_test_id("stMetricValue").first).to_have_text(f"{local:%H:%M:%S} JST")
        expect(order_tab.get_by_text(re.compile(r"^FAILED · \d{4}-\d\d-\d\d \d\d:\d\d:\d\d JST$"))).to_be_visible()
        expect(logs_table(order_tab).locator("th", has_text=f"Time ({ZONE})")).to_have_count(1)
        expect(order_tab.locator(".js-plotly-plot").first).to_contain_text(f"Time ({ZONE})")

        order_tab.get_by_role("link", name="Overview").click()
        expect(alarm_row(order_tab)).to_contain_text(re.compile(r"\d\d:\d\d:\d\d JST"))

        # The other pages of the run; then the alarm judges a minute without failures, turns OK, and the demo ends.
        overview.bring_to_front()
        operator_pages(overview, url)
        place.bring_to_front()
        screenshot(place, "place-order")
        overview.bring_to_front()
        overview.goto(url)
        expect(alarm_row(overview)).to_contain_text("🟢 OK", timeout=CLEARS_MS)
        cleared = table(overview, "Change").locator("tr", has_text=ALARM).filter(has_text="ALARM → OK")
        expect(cleared.first).to_be_attached(timeout=FIRES_MS)
    finished = place.get_by_text(re.compile(r"^Demo finished: \d+ orders sent\. Alarms it tripped: .*" + ALARM))
    expect(finished).to_be_visible()


def redrive_and_cancel(tab: Any, url: str) -> None:
    """On Queues, a DLQ of 20 orders redriven at 1 message a second, its progress shown, then cancelled."""
    from backend import aws, redrive
    from lambdas.domain.order import Order
    from tests.conftest import operator_caller, order_request

    sqs, dlq_url = aws.client("sqs"), aws.resources().dead_letter_queue_url
    for _ in range(20):  # as if their deliveries had all failed
        sqs.send_message(QueueUrl=dlq_url, MessageBody=Order.place(order_request()).model_dump_json())
    tab.goto(f"{url}/queues")
    expect(tab.locator(".js-plotly-plot")).to_have_count(1)
    tab.get_by_label("Messages per second").fill("1")
    tab.get_by_label("Messages per second").press("Enter")
    tab.get_by_role("button", name=re.compile(r"^Redrive \d+ messages$")).click()
    expect(tab.get_by_text(re.compile(r"^Redrive running: [1-9]\d* of \d+ moved$"))).to_be_visible()
    tab.get_by_role("button", name="Cancel redrive").click()
    tasks = table(tab, "Moved")
    expect(tasks.locator("tr", has_text="CANCELLED").first).to_be_attached()
    poll(lambda: redrive.move_tasks()[0].status == "CANCELLED", timeout=30, what="the redrive's cancel")
    redrive.start_redrive(operator_caller())  # the rest, at SQS's pace


def check_failed_order(tab: Any, order_id: str) -> None:
    """The Order page of an order whose payment timed out until the retries ran out."""
    expect(tab.get_by_role("heading", name="Order", exact=True)).to_be_visible()
    expect(tab.get_by_text("FAILED", exact=True).first).to_be_visible()
    graph = tab.get_by_test_id("stGraphVizChart")
    for state in (r"ValidateOrder\s*succeeded", r"ProcessPayment\s*caught after \d retr", r"NotifyFailed\s*succeeded"):
        expect(graph).to_contain_text(re.compile(state))
    expect(graph).to_contain_text(re.compile(r"OrderFailed\s*failed"))
    expect(graph).to_contain_text(re.compile(r"NotifyConfirmed\s*not reached"))
    told = tab.get_by_test_id("stText").filter(has_text=f"Order {order_id} could not be completed")
    expect(told).to_contain_text("because of a technical problem; you have not been charged")
    logs = logs_table(tab)
    for column in ("Level", "Function", "Message"):
        expect(logs.locator("th", has_text=column)).to_have_count(1)
    expect(logs.locator("tr", has_text="process-payment").filter(has_text="ERROR").first).to_contain_text(
        "PaymentGatewayTimeout"
    )
    expect(logs.locator("tr", has_text="send-notification").first).to_contain_text("INFO")


def operator_pages(tab: Any, url: str) -> None:
    """Metrics (with the cost per order), Functions, Queues (a redrive started and cancelled), Executions (with the
    per-state figures) and Notifications during the outage."""
    tab.goto(f"{url}/metrics")
    expect(tab.locator(".js-plotly-plot")).to_have_count(4)  # the cost per order's chart is the fourth
    expect(tab.get_by_text("Time (UTC)").first).to_be_attached()
    expect(table(tab, "Step Functions").locator("tr", has_text="Lambda compute")).to_have_count(1)
    screenshot(tab, "metrics")
    tab.goto(f"{url}/functions")
    functions = table(tab, "Cold starts")
    for role in ("start_order", "validate_order", "process_payment", "send_notification"):
        expect(functions.locator("tr", has_text=role)).to_have_count(1)
    expect(tab.locator(".js-plotly-plot")).to_have_count(1)
    screenshot(tab, "functions")
    redrive_and_cancel(tab, url)
    screenshot(tab, "queues")
    tab.goto(f"{url}/executions")
    tab.get_by_text("Show the per-state figures").click()
    expect(table(tab, "p90 time in state").locator("tr", has_text="ProcessPayment")).to_have_count(1)
    screenshot(tab, "executions")
    tab.goto(f"{url}/notifications")
    # The newest are the clearing's confirmations; the outage's failures are counted by kind.
    expect(tab.get_by_test_id("stMetricLabel").filter(has_text="Failed")).to_be_visible()
    screenshot(tab, "notifications")
