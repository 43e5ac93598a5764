"""The Functions figures, the cost per order and the functions command on the session's local AWS, after a few orders
ran: Logs Insights over the functions' reports, AWS/Lambda, AWS/States and AWS/SQS as on AWS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import backend
from backend import costs, functions
from backend.pricing import SERVICES
from tests.conftest import PROJECT_ROOT, operator_caller, order_request, poll
from tests.integration.test_cli import cli

ORDERS = 4
TASKS = ("validate_order", "process_payment", "send_notification")  # one invocation each per approved order


def _report() -> functions.FunctionsReport:
    now = datetime.now(UTC)
    return functions.functions_report(now - timedelta(hours=1), now, 60)


def _cost() -> costs.OrderCost:
    now = datetime.now(UTC)
    return costs.order_cost(now - timedelta(hours=1), now, 60)


@pytest.fixture(scope="module")
def placed(local_aws: Any) -> list[str]:
    """ORDERS approved orders, finished; their reports and metrics readable."""
    orders = backend.submit_orders([order_request()] * ORDERS, caller=operator_caller())
    ids = [order.order_id for order in orders]
    results = backend.wait_for_orders(ids, timeout_seconds=90)
    assert all(summary.outcome is backend.Outcome.SUCCEEDED for summary in results.values())

    def reported() -> bool:
        by_role = {f.role: f for f in _report().functions}
        return all(by_role[role].invocations >= ORDERS for role in TASKS)

    poll(reported, timeout=30, what="the orders' REPORT records in Logs Insights")
    poll(lambda: _cost().orders >= ORDERS, timeout=30, what="the finished executions in AWS/States")
    return ids


def test_the_functions_figures_count_the_orders_tasks(placed: list[str]) -> None:
    report = _report()
    by_role = {f.role: f for f in report.functions}
    assert set(by_role) == set(backend.aws.resources().function_names)
    for role in TASKS:
        figure = by_role[role]
        assert figure.invocations >= len(placed), role
        assert figure.p99_ms is not None
        assert figure.p50_ms is not None
        assert figure.p99_ms >= figure.p50_ms > 0, role
        assert figure.memory_size_mb == 256  # the template's Globals
        assert figure.max_memory_used_mb is not None
        assert 0 < figure.max_memory_used_mb <= figure.memory_size_mb
        assert figure.billed_ms >= figure.invocations  # each invocation bills at least 1 ms
        assert sum(p.invocations for p in figure.points) == figure.invocations
    assert sum(f.cold_starts for f in report.functions) >= 1
    cold = next(f for f in report.functions if f.cold_starts)
    assert cold.init_max_ms is not None
    assert cold.init_avg_ms is not None
    assert cold.init_max_ms >= cold.init_avg_ms > 0
    assert by_role["start_order"].invocations >= 1


def test_the_cost_per_order_is_positive_and_the_sum_of_its_parts(placed: list[str]) -> None:
    measured = _cost()
    assert measured.orders >= len(placed)
    assert measured.per_order is not None
    parts = [getattr(measured.per_order, service) for service in SERVICES]
    assert all(part > 0 for part in parts), parts
    assert measured.per_order.total == sum(parts)
    assert measured.transitions_per_execution is not None
    assert measured.transitions_per_execution >= 4
    assert measured.usage.lambda_requests >= 3 * len(placed)
    assert sum(p.orders for p in measured.points) == measured.orders


def test_the_functions_command_prints_the_figures(placed: list[str]) -> None:
    run = cli("functions", "--window", "1h", "--json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    by_role = {f["role"]: f for f in report["functions"]}
    assert all(by_role[role]["invocations"] >= len(placed) for role in TASKS)
    assert "points" not in by_role["validate_order"]
    table = cli("functions")
    assert table.returncode == 0, table.stderr
    assert all(role in table.stdout for role in TASKS)
    bad = cli("functions", "--window", "2h")
    assert bad.returncode == 2
    assert "invalid choice" in bad.stderr


@pytest.fixture
def app(placed: list[str]) -> AppTest:
    import streamlit as st

    st.cache_data.clear()
    at = AppTest.from_file(str(PROJECT_ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    return at


def test_the_functions_page_shows_a_row_per_function(app: AppTest) -> None:
    app.switch_page("pages/functions.py").run()
    assert not app.exception
    table = app.dataframe[0].value
    assert set(table["Function"]) == set(backend.aws.resources().function_names)
    assert "Source: CloudWatch Logs Insights" in " ".join(c.value for c in app.caption)
    app.segmented_control(key="functions_window").set_value("15 min").run()
    assert not app.exception


def test_the_metrics_page_shows_the_cost_per_order(app: AppTest) -> None:
    app.switch_page("pages/metrics.py").run()
    assert not app.exception
    shown = next(str(m.value) for m in app.metric if m.label == "Cost per order")
    assert shown.startswith("$0.0")
    parts = next(frame.value for frame in app.dataframe if "Per order ($)" in frame.value.columns)
    assert len(parts) == len(SERVICES)
