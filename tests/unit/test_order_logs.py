"""Log lines by order: parsing CloudWatch Logs events of the functions, and what customers were told."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from backend import notifications, order_logs

ORDER = "ord_01m8d24br20cd6y5r1xerynb8x"
OTHER = "ord_01m8d24br20cd6y5r1xerynb8y"
EVENT_AT = datetime(2026, 11, 26, 23, 12, 59, 835000, tzinfo=UTC)
# Lines as the local AWS stored them (captured), shortened.
POWERTOOLS = {
    "level": "INFO",
    "location": "handler:47",
    "message": "payment answered",
    "timestamp": "2026-11-26 23:13:02,959+0000",
    "service": "order-pipeline",
    "cold_start": False,
    "function_name": "orders-local-process-payment",
    "function_request_id": "537942e1",
    "correlation_id": ORDER,
    "order_id": ORDER,
    "attempt": 1,
    "status": "APPROVED",
}
RUNTIME_ERROR = {"level": "ERROR", "errorType": "PaymentGatewayTimeout", "errorMessage": f"no answer for {ORDER}"}
EMF = {"_aws": {"Timestamp": 1, "CloudWatchMetrics": []}, "service": "order-pipeline", "PaymentRequests": [1.0]}
PLATFORM = {"time": "2026-11-26T23:12:59.835Z", "type": "platform.start", "record": {"requestId": "x"}}


def event(document: object, at: datetime = EVENT_AT, stream: str = "s1") -> dict:
    message = document if isinstance(document, str) else json.dumps(document)
    return {"timestamp": int(at.timestamp() * 1000), "message": message, "logStreamName": stream}


def test_a_powertools_line_keeps_its_own_time_level_and_details() -> None:
    line = order_logs.parse_event(json.dumps(POWERTOOLS), EVENT_AT, "fn")
    assert line is not None
    assert line.at == datetime(2026, 11, 26, 23, 13, 2, 959000, tzinfo=UTC)
    assert (line.level, line.function, line.message, line.order_id) == ("INFO", "fn", "payment answered", ORDER)
    assert line.details == {"attempt": 1, "status": "APPROVED"}
    assert line.request_id == "537942e1"


def test_metric_blobs_and_platform_records_are_not_log_lines() -> None:
    assert order_logs.parse_event(json.dumps(EMF), EVENT_AT, "fn") is None
    assert order_logs.parse_event(json.dumps(PLATFORM), EVENT_AT, "fn") is None


def test_an_unhandled_error_and_a_plain_line_are_kept() -> None:
    error = order_logs.parse_event(json.dumps(RUNTIME_ERROR), EVENT_AT, "fn")
    assert error is not None
    assert (error.level, error.message, error.at) == (
        "ERROR",
        f"PaymentGatewayTimeout: no answer for {ORDER}",
        EVENT_AT,
    )
    plain = order_logs.parse_event("hello <b>world</b>\n", EVENT_AT, "fn")
    assert plain is not None
    assert (plain.level, plain.message) == ("-", "hello <b>world</b>")
    assert order_logs.parse_event("  ", EVENT_AT, "fn") is None


def test_a_line_without_a_time_of_its_own_follows_the_line_before_it_in_its_stream() -> None:
    # The local AWS stamps every line of an invocation with its start; the error comes after the INFO line.
    lines = order_logs.lines_of([event(EMF), event(POWERTOOLS), event(RUNTIME_ERROR)], "fn")
    assert [line.level for line in lines] == ["INFO", "ERROR"]
    assert lines[1].at == lines[0].at


def test_iso_timestamps_of_lambda_json_records_are_read() -> None:
    line = order_logs.parse_event(
        json.dumps({"timestamp": "2026-11-26T23:13:02.5Z", "level": "WARN", "message": "m"}), EVENT_AT, "f"
    )
    assert line is not None
    assert line.at == datetime(2026, 11, 26, 23, 13, 2, 500000, tzinfo=UTC)


def sent(order_id: str, kind: str, minutes: int) -> dict:
    return {
        **POWERTOOLS,
        "message": "notification sent",
        "timestamp": (EVENT_AT + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3] + "+0000",
        "correlation_id": order_id,
        "order_id": order_id,
        "kind": kind,
        "subject": f"Order {order_id}: {kind.lower()}",
        "text": f"Order {order_id} is {kind.lower()}.",
        "message_id": f"m-{minutes}",
    }


def test_notifications_come_from_the_sent_lines_newest_first_with_counts_per_kind() -> None:
    events = [event(sent(ORDER, "CONFIRMED", 1)), event(EMF), event(sent(OTHER, "DECLINED", 2))]
    events += [event(sent(OTHER, "CONFIRMED", 3)), event(POWERTOOLS)]
    found = notifications.from_lines(order_logs.lines_of(events, "send"))
    assert [(n.order_id, n.kind) for n in found] == [(ORDER, "CONFIRMED"), (OTHER, "DECLINED"), (OTHER, "CONFIRMED")]
    assert found[0].text == f"Order {ORDER} is confirmed."
    report = notifications.report(found, EVENT_AT, EVENT_AT + timedelta(hours=1), limit=2, truncated=False)
    assert [n.message_id for n in report.recent] == ["m-3", "m-2"]
    assert report.counts == {"CONFIRMED": 2, "DECLINED": 1}
    assert report.scanned == 3
