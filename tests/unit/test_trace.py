"""An order's trace from an execution history and log lines: task attempts, their invocations, the payment key."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.executions import task_attempts
from backend.order_logs import LogLine
from backend.trace import idempotency_key, match_lines, parse_report

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PAY = "stack-process-payment"


def event(index: int, kind: str, seconds: float, **details: Any) -> dict[str, Any]:
    key = {"TaskStateEntered": "stateEnteredEventDetails"}.get(kind, kind[0].lower() + kind[1:] + "EventDetails")
    return {"id": index, "type": kind, "timestamp": T0 + timedelta(seconds=seconds), key: details}


def retried_payment() -> list[dict[str, Any]]:
    scheduled = {"parameters": json.dumps({"FunctionName": f"arn:aws:lambda:us-east-1:1:function:{PAY}"})}
    return [
        event(1, "TaskStateEntered", 0, name="ProcessPayment"),
        event(2, "TaskScheduled", 0, **scheduled),
        event(3, "TaskFailed", 1, error="PaymentGatewayTimeout"),
        event(4, "TaskScheduled", 2, **scheduled),
        event(5, "TaskSucceeded", 3, output=json.dumps({"Payload": {"status": "APPROVED"}})),
    ]


def test_each_scheduled_event_is_an_attempt_and_a_retry_counts_up() -> None:
    first, second = task_attempts(retried_payment())
    assert (first.state, first.attempt, first.status, first.error) == (
        "ProcessPayment",
        1,
        "FAILED",
        "PaymentGatewayTimeout",
    )
    assert (second.attempt, second.status, second.function_name) == (2, "SUCCEEDED", PAY)
    assert second.output == {"Payload": {"status": "APPROVED"}}


def test_each_attempt_takes_the_invocation_that_logged_within_it() -> None:
    attempts = task_attempts(retried_payment())
    lines = [
        LogLine(at=T0 + timedelta(seconds=0.5), level="WARNING", function=PAY, message="timed out", request_id="r1"),
        LogLine(at=T0 + timedelta(seconds=2.5), level="INFO", function=PAY, message="answered", request_id="r2"),
    ]
    assert {index: line.request_id for index, line in match_lines(attempts, lines).items()} == {0: "r1", 1: "r2"}


def test_a_platform_report_gives_durations_and_a_cold_start() -> None:
    message = json.dumps(
        {
            "time": "2026-01-01T00:00:01.000Z",
            "type": "platform.report",
            "record": {
                "requestId": "r1",
                "metrics": {"durationMs": 12.5, "billedDurationMs": 13, "initDurationMs": 300},
            },
        }
    )
    report = parse_report(message)
    assert report
    assert (report.request_id, report.duration_ms, report.init_duration_ms) == ("r1", 12.5, 300)
    assert parse_report('{"level": "INFO", "message": "x"}') is None


def test_the_payment_key_is_the_one_powertools_writes(monkeypatch: Any) -> None:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

    class Layer(BasePersistenceLayer):
        def _get_record(self, idempotency_key: str) -> Any: ...
        def _put_record(self, data_record: Any) -> None: ...
        def _update_record(self, data_record: Any) -> None: ...
        def _delete_record(self, data_record: Any) -> None: ...

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", PAY)
    layer = Layer()
    # As lambdas/process_payment.py configures it, for its charge_once.
    layer.configure(
        IdempotencyConfig(event_key_jmespath="order_id"), function_name="lambdas.process_payment.charge_once"
    )
    order_id = "ord_01jz0000000000000000000000"
    assert layer._get_hashed_idempotency_key({"order_id": order_id}) == idempotency_key(PAY, order_id)
