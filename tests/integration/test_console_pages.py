"""The console views against the session's local AWS: an order's workflow graph with statuses, its log lines from
every function in time order, what the customer was told, the window's per-state figures and notifications."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import backend
from backend import order_logs
from lambdas.domain.order import PaymentMethod
from tests.conftest import PROJECT_ROOT, operator_caller, poll
from tests.conftest import order_request as request

FUNCTIONS = ("start-order", "validate-order", "process-payment", "send-notification")


@pytest.fixture(scope="module")
def orders(local_aws: Any) -> dict[str, str]:
    """One order retried once then succeeding, one rejected; returned once every function's lines reached Logs."""
    retried, rejected = backend.submit_orders(
        [request(PaymentMethod.TIMEOUT_ONCE), request(lines=[{"sku": "LIMITED-PRINT", "quantity": 3}])],
        caller=operator_caller(),
    )
    results = backend.wait_for_orders([retried.order_id, rejected.order_id], timeout_seconds=30)
    assert [summary.outcome for summary in results.values()] == [backend.Outcome.SUCCEEDED, backend.Outcome.REJECTED]

    def logged(order_id: str, functions: int) -> bool:
        lines = order_logs.for_order(order_id)
        return len({line.function for line in lines}) == functions and any(
            line.message == "notification sent" for line in lines
        )

    # The local AWS flushes function logs to CloudWatch Logs every 5 s.
    poll(lambda: logged(retried.order_id, 4), timeout=20, interval=0.5, what="the order's log lines")
    poll(lambda: logged(rejected.order_id, 3), timeout=20, interval=0.5, what="the rejected order's log lines")
    return {"retried": retried.order_id, "rejected": rejected.order_id}


@pytest.fixture
def app(orders: dict[str, str]) -> AppTest:
    import streamlit as st

    st.cache_data.clear()
    at = AppTest.from_file(str(PROJECT_ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    return at


def graph_source(at: AppTest) -> str:
    return "\n".join(element.proto.spec for element in at.get("graphviz_chart"))


def texts(at: AppTest) -> str:
    shown = (str(e.value) for kind in ("markdown", "caption", "text", "info", "error") for e in getattr(at, kind))
    return "\n".join(shown).replace("\\", "")


def open_order(at: AppTest, order_id: str) -> AppTest:
    at.query_params["order"] = order_id
    at.switch_page("pages/order.py").run()
    assert not at.exception
    return at


def test_the_order_page_shows_the_graph_with_statuses_logs_and_notification(app: AppTest, orders: dict) -> None:
    order_id = orders["retried"]
    open_order(app, order_id)
    source = graph_source(app)
    assert "ProcessPayment\\nsucceeded after 1 retry" in source
    assert "ValidateOrder\\nsucceeded" in source
    assert "NotifyDeclined\\nnot reached" in source
    assert "catch OrderInvalid" in source  # edges come from the deployed definition
    logs = next(frame.value for frame in app.dataframe if "Function" in frame.value.columns)
    functions = logs["Function"].tolist()
    assert {name.rsplit("-local-", 1)[-1] for name in functions} == set(FUNCTIONS)
    assert logs["Time"].is_monotonic_increasing
    assert str(logs["Time"].dt.tz) == "UTC"
    # In time order: validated, a failed payment attempt, the payment, the notification. The starter logs once
    # StartExecution has answered, by when ValidateOrder may already have logged, so its place is not fixed.
    order_of_first = [f.rsplit("-local-", 1)[-1] for f in dict.fromkeys(functions)]
    assert [name for name in order_of_first if name != "start-order"] == list(FUNCTIONS[1:])
    assert "ERROR" in set(logs["Level"])
    assert not logs["Message"].str.contains('"_aws"').any()
    shown = texts(app)
    assert "CONFIRMED" in shown
    assert f"Thank you! Order {order_id} is confirmed" in shown
    assert " UTC" in shown


def test_a_rejected_order_shows_the_caught_state_and_what_the_customer_was_told(app: AppTest, orders: dict) -> None:
    open_order(app, orders["rejected"])
    source = graph_source(app)
    assert "ValidateOrder\\ncaught" in source
    assert "OrderRejected\\nfailed" in source
    assert "ProcessPayment\\nnot reached" in source
    shown = texts(app)
    assert "REJECTED" in shown
    assert "only 2 of LIMITED-PRINT in stock, 3 ordered" in shown


def test_the_executions_page_shows_per_state_figures_of_the_window(app: AppTest, orders: dict) -> None:
    app.switch_page("pages/executions.py").run()
    assert not any("Entered" in frame.value.columns for frame in app.dataframe)  # not read until asked for
    app.toggle(key="workflow_figures_on").set_value(True).run()
    assert not app.exception
    figures = next(frame.value for frame in app.dataframe if "Entered" in frame.value.columns)
    row = figures.set_index("State")
    assert row.loc["ValidateOrder", "Entered"] >= 2
    assert row.loc["ProcessPayment", "Retried"] >= 1
    assert row.loc["ValidateOrder", "Failed"] >= 1
    assert "Covers" in texts(app)
    assert "entered" in graph_source(app)


def test_the_notifications_page_counts_per_kind_and_lists_the_last(app: AppTest, orders: dict) -> None:
    app.switch_page("pages/notifications.py").run()
    assert not app.exception
    labels = {metric.label: int(metric.value) for metric in app.metric}
    assert labels.get("Confirmed", 0) >= 1
    assert labels.get("Rejected", 0) >= 1
    table = app.dataframe[0].value
    assert table["Order"].str.contains(orders["retried"]).any()


def test_the_display_zone_setting_changes_every_time_shown(app: AppTest, orders: dict) -> None:
    open_order(app, orders["retried"])
    app.selectbox(key="time_zone_setting").set_value("Browser").run()
    assert not app.exception
    # AppTest has no browser: its zone is unknown, so times stay in UTC and say so.
    assert " UTC" in texts(app)
    app.switch_page("pages/metrics.py").run()
    assert not app.exception
    assert app.selectbox(key="time_zone_setting").value == "Browser"
