"""One order's trace: placed, its SQS message, the starter's batch, the execution, each task attempt's Lambda
invocation, the payment's idempotency record and the notification's SNS message, on one timeline.

Built from what the Order page has already read (the execution's detail, from one history read, and the order's log
lines) plus the Lambda platform reports of the invocations those lines name and one GetItem of the payment record.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from backend import aws
from backend.costs import run_transitions
from backend.errors import translated
from backend.executions import TaskAttempt
from backend.functions import gb_seconds
from backend.order_logs import MARGIN, LogLine, filter_events, log_group
from backend.orders import OrderDetail
from backend.pricing import Cost, Usage, price
from lambdas.domain.order import placed_at

StepKind = Literal["placed", "queued", "batch", "execution", "task", "idempotency", "notification"]
# A task's invocation logs within its Step Functions attempt; the two clocks may differ a little.
CLOCK_SLACK = timedelta(seconds=2)
REPORT_PAGES = 2  # an invocation's lines are few: its report is on the first page or two
# Where lambdas/process_payment.py's charge_once keeps its records: Powertools keys them
# "<function name>.<module>.<qualified name>#<md5 of the JSON of the key data>", the data being the order id.
IDEMPOTENT_FUNCTION = "lambdas.process_payment.charge_once"


class TraceStep(BaseModel):
    """One step of an order's way through the pipeline; an instant has ended_at equal to started_at."""

    kind: StepKind
    name: str
    started_at: datetime
    ended_at: datetime | None = None  # None while it runs
    request_id: str | None = None  # the Lambda invocation's
    cold_start: bool | None = None
    attempt: int | None = None
    detail: dict[str, Any] = {}


class Invocation(BaseModel):
    """A Lambda invocation's platform.report record."""

    request_id: str
    at: datetime  # the record's time: the invocation's end
    duration_ms: float | None = None
    billed_duration_ms: float | None = None
    init_duration_ms: float | None = None  # present on a cold start
    memory_size_mb: int | None = None
    status: str | None = None


class IdempotencyRecord(BaseModel):
    """The payment's Powertools idempotency record in the payments table."""

    key: str
    status: str
    expires_at: datetime | None = None


class OrderTrace(BaseModel):
    """An order's steps, oldest first, and the identifiers that tie them together."""

    order_id: str
    steps: list[TraceStep]
    message_id: str | None = None
    batch_size: int | None = None
    starter_request_id: str | None = None
    idempotency: IdempotencyRecord | None = None
    notification_message_id: str | None = None
    cost: Cost | None = None  # measured: None until the order's execution has ended


def idempotency_key(function_name: str, order_id: str) -> str:
    """The payments table key of an order's charge, as Powertools derives it (event_key_jmespath="order_id")."""
    digest = hashlib.md5(json.dumps(order_id, sort_keys=True).encode(), usedforsecurity=False).hexdigest()
    return f"{function_name}.{IDEMPOTENT_FUNCTION}#{digest}"


def parse_report(message: str) -> Invocation | None:
    """An invocation from a JSON platform.report log event; None for any other event."""
    try:
        document = json.loads(message)
    except ValueError:
        return None
    if not isinstance(document, dict) or document.get("type") != "platform.report":
        return None
    record, at = document.get("record") or {}, document.get("time")
    metrics = record.get("metrics") or {}
    if not isinstance(at, str) or "requestId" not in record:
        return None
    return Invocation(
        request_id=record["requestId"],
        at=datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(UTC),
        duration_ms=metrics.get("durationMs"),
        billed_duration_ms=metrics.get("billedDurationMs"),
        init_duration_ms=metrics.get("initDurationMs"),
        memory_size_mb=metrics.get("memorySizeMB"),
        status=record.get("status"),
    )


def match_lines(attempts: list[TaskAttempt], lines: list[LogLine]) -> dict[int, LogLine]:
    """Attempt index -> the first log line of the invocation that ran it: a line of the attempt's function that
    falls within the attempt, and of an invocation no earlier attempt took."""
    taken: set[str] = set()
    found: dict[int, LogLine] = {}
    for index, attempt in enumerate(attempts):
        until = (attempt.ended_at or datetime.now(UTC)) + CLOCK_SLACK
        for line in lines:
            if (
                line.function == attempt.function_name
                and line.request_id
                and line.request_id not in taken
                and attempt.scheduled_at - CLOCK_SLACK <= line.at <= until
            ):
                found[index] = line
                taken.add(line.request_id)
                break
    return found


def _payload(attempt: TaskAttempt) -> dict[str, Any]:
    payload = attempt.output.get("Payload") if isinstance(attempt.output, dict) else None
    return payload if isinstance(payload, dict) else {}


def _line(lines: list[LogLine], function: str | None, message: str) -> LogLine | None:
    return next((line for line in lines if line.function == function and line.message == message), None)


def _cold(line: LogLine | None, report: Invocation | None) -> bool | None:
    if report and report.init_duration_ms is not None:
        return True
    return line.cold_start if line else None


def _figures(report: Invocation | None) -> dict[str, Any]:
    if report is None:
        return {}
    figures = {
        "duration_ms": report.duration_ms,
        "billed_duration_ms": report.billed_duration_ms,
        "init_duration_ms": report.init_duration_ms,
        "invocation_status": report.status,
    }
    return {key: value for key, value in figures.items() if value is not None}


@translated
def build(detail: OrderDetail, lines: list[LogLine]) -> OrderTrace:
    """The order's trace from its detail and log lines; reads the invocations' reports and the payment record."""
    names = aws.resources().function_names
    order_id = detail.order_id
    placed = placed_at(order_id)
    started = _line(lines, names.get("start_order"), "order workflow started")
    matched = match_lines(detail.attempts, lines)
    request_ids = {line.request_id: line.function for line in [started, *matched.values()] if line and line.request_id}
    reports = _reports(request_ids, placed, detail.stopped_at)

    steps = [TraceStep(kind="placed", name="Placed", started_at=placed, ended_at=placed)]
    enqueued_until = started.at if started else detail.started_at
    steps.append(
        TraceStep(
            kind="queued",
            name="In the orders queue",
            started_at=placed,
            ended_at=enqueued_until,
            detail={"message_id": started.details.get("message_id")} if started else {},
        )
    )
    if started:
        report = reports.get(started.request_id or "")
        ended = max(started.at, report.at) if report else started.at
        took = timedelta(milliseconds=(report.duration_ms or 0) + (report.init_duration_ms or 0)) if report else None
        steps.append(
            TraceStep(
                kind="batch",
                name="Starter batch",
                started_at=ended - took if took else started.at,
                ended_at=ended,
                request_id=started.request_id,
                cold_start=_cold(started, report),
                detail={key: started.details.get(key) for key in ("batch_size", "receive_count", "duplicate")}
                | _figures(report),
            )
        )
    if detail.started_at:
        steps.append(
            TraceStep(kind="execution", name="Execution", started_at=detail.started_at, ended_at=detail.stopped_at)
        )
    for index, attempt in enumerate(detail.attempts):
        line = matched.get(index)
        report = reports.get(line.request_id or "") if line else None
        steps.append(
            TraceStep(
                kind="task",
                name=attempt.state,
                started_at=attempt.scheduled_at,
                ended_at=attempt.ended_at,
                request_id=line.request_id if line else None,
                cold_start=_cold(line, report),
                attempt=attempt.attempt,
                detail={"status": attempt.status, "function": attempt.function_name, "error": attempt.error}
                | _figures(report),
            )
        )
    idempotency = _idempotency(names.get("process_payment"), order_id)
    paid = next(
        (a for a in detail.attempts if a.function_name == names.get("process_payment") and a.status == "SUCCEEDED"),
        None,
    )
    if idempotency and paid and paid.ended_at:
        steps.append(
            TraceStep(
                kind="idempotency",
                name="Payment record",
                started_at=paid.ended_at,
                ended_at=paid.ended_at,
                detail={"status": idempotency.status, "expires_at": idempotency.expires_at},
            )
        )
    notified = _line(lines, names.get("send_notification"), "notification sent")
    sent = next(
        (a for a in detail.attempts if a.function_name == names.get("send_notification") and a.status == "SUCCEEDED"),
        None,
    )
    message_id = (notified.details.get("message_id") if notified else None) or (
        _payload(sent).get("message_id") if sent else None
    )
    if message_id:
        at = notified.at if notified else sent.ended_at if sent and sent.ended_at else placed
        steps.append(
            TraceStep(
                kind="notification",
                name="Notification",
                started_at=at,
                ended_at=at,
                request_id=notified.request_id if notified else None,
                detail={"sns_message_id": message_id, "kind": notified.details.get("kind") if notified else None},
            )
        )
    batch_size = started.details.get("batch_size") if started else None
    finished = detail.stopped_at is not None
    starter = reports.get(started.request_id or "") if started else None
    task_reports = [reports.get(line.request_id or "") for line in matched.values()]
    return OrderTrace(
        cost=order_cost(detail, starter, task_reports, batch_size) if finished else None,
        order_id=order_id,
        steps=steps,
        message_id=started.details.get("message_id") if started else None,
        batch_size=batch_size,
        starter_request_id=started.request_id if started else None,
        idempotency=idempotency,
        notification_message_id=message_id,
    )


def order_cost(
    detail: OrderDetail, starter: Invocation | None, tasks: list[Invocation | None], batch_size: int | None
) -> Cost:
    """What this order cost, priced with the one price table: its task invocations, its share of the starter's batch
    (and of that batch's SQS receive and delete, and of a send of as many), and its execution's state transitions."""
    share = Decimal(1) / Decimal(batch_size or 1)

    def compute(report: Invocation | None) -> Decimal:
        if report is None or report.billed_duration_ms is None:
            return Decimal(0)
        return gb_seconds(Decimal(str(report.billed_duration_ms)), report.memory_size_mb or 0)

    usage = Usage(
        lambda_requests=len(detail.attempts) + (share if starter else Decimal(0)),
        lambda_gb_seconds=sum((compute(report) for report in tasks), Decimal(0)) + compute(starter) * share,
        state_transitions=Decimal(run_transitions(detail.timeline)),
        sqs_requests=3 * share,
    )
    return price(usage)


def _reports(request_ids: dict[str, str], placed: datetime, stopped_at: datetime | None) -> dict[str, Invocation]:
    """Request id -> its platform.report, one FilterLogEvents on its function's log group for each (in parallel)."""
    if not request_ids:
        return {}
    logs = aws.client("logs")
    since, until = placed - MARGIN, (stopped_at or datetime.now(UTC)) + MARGIN

    def read(item: tuple[str, str]) -> Invocation | None:
        request_id, function = item
        events, _ = filter_events(logs, log_group(function), f'"{request_id}"', since, until, REPORT_PAGES)
        reports = (parse_report(event["message"]) for event in events)
        return next((report for report in reports if report and report.request_id == request_id), None)

    with ThreadPoolExecutor(max_workers=min(8, len(request_ids))) as pool:
        found = list(pool.map(read, request_ids.items()))
    return {report.request_id: report for report in found if report}


def _idempotency(function_name: str | None, order_id: str) -> IdempotencyRecord | None:
    """The payment's idempotency record (GetItem), if it has one."""
    table = aws.resources().payments_table_name
    if not table or not function_name:
        return None
    key = idempotency_key(function_name, order_id)
    item = aws.client("dynamodb").get_item(TableName=table, Key={"id": {"S": key}}).get("Item")
    if not item:
        return None
    expiry = item.get("expiration", {}).get("N")
    return IdempotencyRecord(
        key=key,
        status=item.get("status", {}).get("S", "?"),
        expires_at=datetime.fromtimestamp(int(expiry), UTC) if expiry else None,
    )
