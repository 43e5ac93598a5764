"""Pricing arithmetic (docs/deploy.md's per-million figures from the one price table), Insights rows into typed
figures, and the cost per order built from usage per bucket."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from backend.costs import bucket_floor, build, sqs_requests, transitions
from backend.functions import ReportRow, figures, gb_seconds, report_query
from backend.insights import cells
from backend.pricing import US_EAST_1, Cost, Usage, price


@pytest.mark.parametrize(
    ("usage", "part", "dollars"),
    [
        # docs/deploy.md's "Cost per 1 million orders (us-east-1)" rows.
        (Usage(lambda_requests=3_100_000), "lambda_requests", Decimal("0.62")),
        (Usage(lambda_gb_seconds=Decimal(30_000)), "lambda_compute", Decimal("0.500001")),
        (Usage(state_transitions=Decimal(5_000_000)), "step_functions", Decimal("125")),
        (Usage(sqs_requests=300_000), "sqs", Decimal("0.12")),
    ],
)
def test_the_documented_figures_come_from_the_price_table(usage: Usage, part: str, dollars: Decimal) -> None:
    cost = price(usage)
    assert getattr(cost, part) == dollars
    assert cost.total == dollars


def test_prices_are_exact_decimals() -> None:
    assert US_EAST_1.lambda_request * 1_000_000 == Decimal("0.20")
    assert US_EAST_1.state_transition * 1000 == Decimal("0.025")
    assert US_EAST_1.dynamodb_write_unit * 1_000_000 == Decimal("0.625")


@pytest.mark.parametrize(
    ("billed_ms", "memory_mb", "expected"),
    [(1000, 1024, Decimal(1)), (4000, 256, Decimal(1)), (3, 256, Decimal("0.00075")), (0, 256, Decimal(0))],
)
def test_gb_seconds(billed_ms: int, memory_mb: int, expected: Decimal) -> None:
    assert gb_seconds(billed_ms, memory_mb) == expected


def test_a_cost_per_order_is_exactly_the_sum_of_its_parts() -> None:
    cost = price(Usage(lambda_requests=7, lambda_gb_seconds=Decimal("0.123"), state_transitions=Decimal(11),
                       sqs_requests=3))  # fmt: skip
    per_order = cost.per(3)
    assert per_order is not None
    assert per_order.total == (per_order.lambda_requests + per_order.lambda_compute + per_order.step_functions
                               + per_order.sqs)  # fmt: skip
    assert abs(per_order.total * 3 - cost.total) < Decimal("1e-11")
    assert Cost().per(0) is None


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            {"bin(1m)": "2024-05-01 12:03:00.000", "invocations": "4", "cold_starts": "1", "init_avg_ms": "250.5",
             "p50_ms": "12.34", "p99_ms": "40", "billed_ms": "71", "memory_size_mb": "256"},
            {"at": datetime(2024, 5, 1, 12, 3, tzinfo=UTC), "invocations": 4, "cold_starts": 1, "init_avg_ms": 250.5,
             "p50_ms": 12.34, "p99_ms": 40.0, "billed_ms": 71, "memory_size_mb": 256},
        ),
        # A sum of whole numbers written with a decimal point; fields with no value are left out of the row.
        ({"invocations": "2", "billed_ms": "12.0"}, {"at": None, "billed_ms": 12, "init_avg_ms": None, "p50_ms": None}),
        ({"bin(15m)": "2024-05-01 12:15:00.000"}, {"at": datetime(2024, 5, 1, 12, 15, tzinfo=UTC), "invocations": 0}),
    ],
)  # fmt: skip
def test_insights_rows_become_typed_figures(row: dict[str, str], expected: dict[str, Any]) -> None:
    typed = ReportRow.model_validate(row)
    for name, value in expected.items():
        assert getattr(typed, name) == value, name


def test_cells_drop_the_pointer() -> None:
    row = [{"field": "invocations", "value": "3"}, {"field": "@ptr", "value": "abc"}]
    assert cells(row) == {"invocations": "3"}


def test_figures_of_a_function_with_and_without_reports() -> None:
    total = ReportRow(invocations=4, cold_starts=1, billed_ms=100, memory_size_mb=256, p50_ms=10, p99_ms=30)
    late = ReportRow(at=datetime(2024, 5, 1, 12, 1, tzinfo=UTC), invocations=1)
    early = ReportRow(at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC), invocations=3)
    figure = figures("validate_order", "stack-validate-order", [total], [late, early], errors=1.0, throttles=2.0)
    assert (figure.invocations, figure.errors, figure.throttles) == (4, 1, 2)
    assert figure.cold_start_share == 0.25
    assert figure.billed_avg_ms == 25
    assert figure.gb_seconds == Decimal("0.025")
    assert [p.at for p in figure.points] == [early.at, late.at]
    idle = figures("send_notification", "x", [], [], 0, 0)
    assert idle.invocations == 0
    assert idle.cold_start_share is None
    assert idle.gb_seconds == 0


@pytest.mark.parametrize(("bucket", "clause"), [(None, None), (60, "by bin(1m)"), (900, "by bin(15m)")])
def test_the_report_query(bucket: int | None, clause: str | None) -> None:
    from localaws.services.logs.insights import parse_query  # the local AWS's parser: the subset it serves

    query = report_query(bucket)
    assert query.startswith('filter type = "platform.report"')
    assert (clause in query) if clause else "bin(" not in query
    parse_query(query)


@pytest.mark.parametrize(("messages", "requests"), [(0, 0), (1, 1), (10, 1), (11, 2), (30.0, 3)])
def test_sqs_requests_count_batches_of_ten(messages: float, requests: int) -> None:
    assert sqs_requests(messages) == requests


def _event(kind: str, id_: int, name: str = "") -> dict[str, Any]:
    event: dict[str, Any] = {"type": kind, "id": id_, "timestamp": datetime(2024, 5, 1, tzinfo=UTC)}
    if kind.endswith("StateEntered"):
        event["stateEnteredEventDetails"] = {"name": name, "input": "{}"}
    if kind.endswith("StateExited"):
        event["stateExitedEventDetails"] = {"name": name, "output": "{}"}
    return event


def test_transitions_count_states_entered_and_retries() -> None:
    events = [
        _event("ExecutionStarted", 1),
        _event("TaskStateEntered", 2, "ValidateOrder"),
        _event("TaskScheduled", 3),
        _event("TaskFailed", 4),
        _event("TaskScheduled", 5),  # a retry: one more transition
        _event("TaskSucceeded", 6),
        _event("TaskStateExited", 7, "ValidateOrder"),
        _event("ChoiceStateEntered", 8, "PaymentApproved?"),
        _event("ChoiceStateExited", 9, "PaymentApproved?"),
        _event("SucceedStateEntered", 10, "OrderCompleted"),
        _event("ExecutionSucceeded", 11),
    ]
    assert transitions(events) == 4


def test_cost_per_bucket_and_per_order() -> None:
    at = [datetime(2024, 5, 1, 12, minute, tzinfo=UTC) for minute in range(3)]
    lambdas = {at[0]: Usage(lambda_requests=8, lambda_gb_seconds=Decimal("0.5")), at[1]: Usage(lambda_requests=4)}
    report = build(at[0], at[2], 60, lambdas, {at[1]: 2.0, at[2]: 1.0}, {at[0]: 1}, Decimal(5), 3)
    assert report.orders == 3
    assert report.usage.state_transitions == 15
    assert report.usage.lambda_requests == 12
    assert [p.per_order is None for p in report.points] == [True, False, False]
    assert report.per_order is not None
    assert report.per_order.total == sum(getattr(report.per_order, s) for s in ("lambda_requests", "lambda_compute",
                                                                               "step_functions", "sqs"))  # fmt: skip
    assert bucket_floor(datetime(2024, 5, 1, 12, 7, 30, tzinfo=UTC), 300) == datetime(2024, 5, 1, 12, 5, tzinfo=UTC)
