"""The order API the app and the CLI use: submit orders to the queue, read their status and timeline."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import Field, ValidationError

from backend import audit, aws, ledger
from backend.errors import BackendError, NotFound, translated
from backend.executions import (
    HistoryRow,
    OrderSummary,
    Outcome,
    StateRun,
    TaskAttempt,
    history_events,
    history_rows,
    outcome_of,
    task_attempts,
    timeline,
)
from backend.identity import Caller, Role
from lambdas.domain.boundary import parse_strict
from lambdas.domain.order import FieldError, Order, OrderRequest, describe_errors, placed_at

SEND_BATCH_SIZE = 10  # SendMessageBatch's limit
SEND_ATTEMPTS = 3
MAX_ORDERS_PER_SUBMIT = 10_000
CLOCK_SKEW = timedelta(minutes=5)  # between the placing machine's clock and AWS's
# An execution can reach the listing after a newer one (start dates are taken before concurrent starts are listed,
# and ListExecutions is eventually consistent): each poll reads back this far behind the newest start seen.
LISTING_LAG = timedelta(seconds=30)

Progress = Callable[[int, int], None]


class InvalidOrders(BackendError):
    """Some requests break the order rules; nothing was sent."""

    def __init__(self, errors: dict[int, list[FieldError]], problem: str | None = None) -> None:
        self.errors = errors
        lines = [f"order {index + 1}: {e.field}: {e.message}" for index, errs in errors.items() for e in errs]
        super().__init__("Invalid order input: " + "; ".join([problem] if problem else lines))


class OrderDetail(OrderSummary):
    """One order in full: its execution, input and output, and the per-state timeline."""

    kind: Literal["execution"] = "execution"  # what backend.locate found (see backend/lookup.py for the others)
    execution_arn: str
    cause: str | None = None
    input: Any = None
    output: Any = None
    timeline: list[StateRun] = Field(default_factory=list)
    attempts: list[TaskAttempt] = Field(default_factory=list)  # every task attempt, retries included
    history: list[HistoryRow] = Field(default_factory=list)  # the event history, oldest first
    history_note: str | None = None  # why there is no timeline, when the history is gone


def validate_requests(requests: Sequence[OrderRequest | Any]) -> list[OrderRequest]:
    """Check every request strictly against the order schema; raise InvalidOrders listing every problem."""
    if not 1 <= len(requests) <= MAX_ORDERS_PER_SUBMIT:
        raise InvalidOrders({}, f"orders: must be 1 to {MAX_ORDERS_PER_SUBMIT:,} at once, not {len(requests):,}")
    valid: list[OrderRequest] = []
    errors: dict[int, list[FieldError]] = {}
    for index, request in enumerate(requests):
        try:
            valid.append(request if isinstance(request, OrderRequest) else parse_strict(OrderRequest, request))
        except ValidationError as exc:
            errors[index] = describe_errors(exc)
    if errors:
        raise InvalidOrders(errors)
    return valid


@translated
def submit_orders(
    requests: Sequence[OrderRequest | Any], progress: Progress | None = None, *, caller: Caller
) -> list[Order]:
    """Validate, place and enqueue orders (10 per SendMessageBatch); return the placed orders in request order."""
    what = "Placing orders"
    audit.require(caller, Role.STAFF, what, audit.PLACE_ORDERS, "orders queue")
    valid = validate_requests(requests)
    sqs = aws.client("sqs")
    queue_url = aws.resources().orders_queue_url
    # A row stops counting when its message would have left the queue unread.
    retention = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["MessageRetentionPeriod"])["Attributes"]
    expires_at = int(time.time()) + int(retention["MessageRetentionPeriod"])
    orders = [Order.place(request) for request in valid]
    span = _span(orders)
    target = queue_url.rstrip("/").rsplit("/", 1)[-1]
    with audit.audited(caller, audit.PLACE_ORDERS, what, target, count=len(orders), detail=span) as action:
        action.count = 0  # an outcome counts what got in
        for start in range(0, len(orders), SEND_BATCH_SIZE):
            _place_batch(sqs, queue_url, orders, start, expires_at)
            action.count = min(start + SEND_BATCH_SIZE, len(orders))
            if progress:
                progress(action.count, len(orders))
        action.done(orders, len(orders), span)
    return orders


def _span(orders: Sequence[Order]) -> str:
    """The count and the first and last order ids of a submission, for the audit log."""
    if len(orders) == 1:
        return f"1 order: {orders[0].order_id}"
    return f"{len(orders)} orders: {orders[0].order_id} … {orders[-1].order_id}"


def _place_batch(sqs: Any, queue_url: str, orders: list[Order], start: int, expires_at: int) -> None:
    """Place one batch of orders (ledger rows, then messages); raise BackendError naming what did not get in."""
    batch = orders[start : start + SEND_BATCH_SIZE]
    # Ledger rows go in before their messages (the starter never strikes a row not written yet), and those of
    # what SQS refused come out: an order is acknowledged when both held.
    not_queued = ledger.add([order.order_id for order in batch], expires_at)
    recorded = [order for order in batch if order.order_id not in not_queued]
    try:
        not_sent = _send_batch(sqs, queue_url, recorded)
    except (ClientError, BotoCoreError):
        # Rows without their messages would say "queued" until they expire; a message that did get in without
        # its row is only unknown until it starts.
        with contextlib.suppress(BackendError, ClientError, BotoCoreError):
            ledger.remove(order.order_id for order in recorded)
        raise
    ledger.remove(not_sent)
    not_queued |= not_sent
    if not_queued:
        queued = [o.order_id for o in batch if o.order_id not in not_queued]
        queued = [o.order_id for o in orders[:start]] + queued
        raise BackendError(
            "Not queued: "
            + "; ".join(f"{oid} ({reason})" for oid, reason in not_queued.items())
            + f". Queued before the failure: {', '.join(queued) or 'none'}."
        )


def _send_batch(sqs: Any, queue_url: str, batch: list[Order]) -> dict[str, str]:
    """Send one batch, retrying entries SQS failed on its side; return order id -> reason for what never got in."""
    if not batch:
        return {}
    pending = {str(index): order for index, order in enumerate(batch)}
    failures: list[dict[str, Any]] = []
    for _ in range(SEND_ATTEMPTS):
        entries = [{"Id": key, "MessageBody": order.model_dump_json()} for key, order in pending.items()]
        failures = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed", [])
        pending = {failure["Id"]: pending[failure["Id"]] for failure in failures}
        if not pending or any(failure.get("SenderFault") for failure in failures):
            break  # a sender fault fails the same way again
    return {pending[f["Id"]].order_id: f.get("Message") or f.get("Code", "failed") for f in failures}


def execution_arn(order_id: str) -> str:
    """The execution ARN of an order (executions are named by order id)."""
    return f"{aws.resources().state_machine_arn.replace(':stateMachine:', ':execution:')}:{order_id}"


@translated
def get_order(order_id: str) -> OrderDetail:
    """The order's status, input/output and per-state timeline; NotFound if it has no execution (locate says why)."""
    detail = execution_detail(order_id)
    if detail is None:
        raise NotFound(f"No workflow execution for {order_id}.")
    return detail


def execution_detail(order_id: str) -> OrderDetail | None:
    """The order's execution in full, or None when there is none: one DescribeExecution and one read of its history
    (GetExecutionHistory, one call a thousand events), from which everything about the execution is drawn."""
    sfn = aws.client("stepfunctions")
    arn = execution_arn(order_id)
    try:
        execution = sfn.describe_execution(executionArn=arn)
    except sfn.exceptions.ExecutionDoesNotExist:
        return None
    try:
        events, history_note = history_events(sfn, arn), None
    except ClientError as exc:  # an old execution whose history the local AWS no longer keeps
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFound":
            raise
        events, history_note = [], exc.response["Error"].get("Message")
    return OrderDetail(
        order_id=order_id,
        outcome=outcome_of(execution["status"], execution.get("error")),
        started_at=execution.get("startDate"),
        stopped_at=execution.get("stopDate"),
        error=execution.get("error"),
        status=execution["status"],
        cause=execution.get("cause"),
        execution_arn=arn,
        input=_loads(execution.get("input")),
        output=_loads(execution.get("output")),
        timeline=timeline(events),
        attempts=task_attempts(events),
        history=history_rows(events),
        history_note=history_note,
    )


def _loads(text: str | None) -> Any:
    return json.loads(text) if text else None


@translated
def list_orders(limit: int = 50) -> list[OrderSummary]:
    """The most recent orders (newest first), from the workflow's executions."""
    sfn = aws.client("stepfunctions")
    items: list[dict[str, Any]] = []
    for page in sfn.get_paginator("list_executions").paginate(
        stateMachineArn=aws.resources().state_machine_arn,
        PaginationConfig={"MaxItems": limit, "PageSize": min(limit, 1000)},
    ):
        items.extend(page["executions"])
    items = sorted(items, key=lambda item: item["startDate"], reverse=True)[:limit]
    errors = errors_of(sfn, items)
    return [summary_of(item, errors.get(item["executionArn"])) for item in items]


def summary_of(item: dict[str, Any], error: str | None) -> OrderSummary:
    """An order summary from an execution list item (or a DescribeExecution answer)."""
    return OrderSummary(
        order_id=item["name"],
        outcome=outcome_of(item["status"], error),
        started_at=item["startDate"],
        stopped_at=item.get("stopDate"),
        error=error,
        status=item["status"],
        execution_arn=item["executionArn"],
    )


@translated
def wait_for_orders(
    order_ids: Sequence[str],
    timeout_seconds: float,
    progress: Progress | None = None,
    poll_seconds: float = 0.5,
) -> dict[str, OrderSummary]:
    """Poll until every order's execution is terminal or the timeout passes; return what is known of each."""
    sfn = aws.client("stepfunctions")
    # Executions are listed newest first: none of these orders started before the oldest was placed.
    since = min(placed_at(order_id) for order_id in order_ids) - CLOCK_SKEW if order_ids else None
    latest = wait_for_executions(
        sfn, aws.resources().state_machine_arn, set(order_ids), since, timeout_seconds, progress, poll_seconds
    )
    errors = errors_of(sfn, latest.values())
    return {
        oid: summary_of(latest[oid], errors.get(latest[oid]["executionArn"]))
        if oid in latest
        else OrderSummary(order_id=oid, outcome=Outcome.QUEUED)
        for oid in order_ids
    }


def wait_for_executions(
    sfn: Any,
    state_machine_arn: str,
    names: set[str],
    since: datetime | None,
    timeout_seconds: float,
    progress: Progress | None = None,
    poll_seconds: float = 0.5,
) -> dict[str, dict[str, Any]]:
    """Poll until every named execution (started at since or later) is terminal or the timeout passes.

    Each poll reads only what changed: the executions started since the previous poll (newest first, down to
    LISTING_LAG before the newest one already seen) and the list of those still running; one that left that list is
    described.
    """
    latest: dict[str, dict[str, Any]] = {}
    newest_seen = since
    deadline = time.monotonic() + timeout_seconds
    while True:
        read_from = newest_seen - LISTING_LAG if newest_seen else None
        started = [item for item in _executions(sfn, state_machine_arn, read_from) if item["name"] not in latest]
        newest_seen = max((item["startDate"] for item in started), default=newest_seen)
        latest |= {item["name"]: item for item in started if item["name"] in names}
        running = {item["name"] for item in _executions(sfn, state_machine_arn, None, status="RUNNING")}
        ended = [item for name, item in latest.items() if item["status"] == "RUNNING" and name not in running]
        # A DescribeExecution answer holds what a list item does, and the error too.
        latest |= {item["name"]: sfn.describe_execution(executionArn=item["executionArn"]) for item in ended}
        done = sum(1 for item in latest.values() if outcome_of(item["status"]).terminal)
        if progress:
            progress(done, len(names))
        if done == len(names) or time.monotonic() >= deadline:
            return latest
        time.sleep(poll_seconds)


def _executions(
    sfn: Any, state_machine_arn: str, since: datetime | None, status: str | None = None
) -> Iterable[dict[str, Any]]:
    """Executions newest first, down to those started at since."""
    extra = {"statusFilter": status} if status else {}
    for page in sfn.get_paginator("list_executions").paginate(
        stateMachineArn=state_machine_arn, PaginationConfig={"PageSize": 200}, **extra
    ):
        for item in page["executions"]:
            if since and item["startDate"] < since:
                return
            yield item


# A failed execution's error never changes until a redrive, which changes its stop date: key on both.
_errors: dict[tuple[str, str], str | None] = {}
_errors_lock = threading.Lock()
_ERROR_CACHE_LIMIT = 100_000


def errors_of(sfn: Any, items: Iterable[dict[str, Any]]) -> dict[str, str | None]:
    """The error of each FAILED execution list item (DescribeExecution, cached per execution attempt)."""
    # A list item carries no error, and a failed order's outcome (rejected, declined, error) needs it.
    failed = [item for item in items if item["status"] == "FAILED"]
    keys = {item["executionArn"]: (item["executionArn"], str(item.get("stopDate"))) for item in failed}
    with _errors_lock:
        known = {arn: _errors[key] for arn, key in keys.items() if key in _errors}
    known |= {item["executionArn"]: item["error"] for item in failed if "error" in item}  # described already
    missing = [arn for arn in keys if arn not in known]
    if missing:
        with ThreadPoolExecutor(max_workers=8) as pool:
            described = list(pool.map(lambda arn: sfn.describe_execution(executionArn=arn), missing))
        with _errors_lock:
            if len(_errors) > _ERROR_CACHE_LIMIT:
                _errors.clear()
            for execution in described:
                arn = execution["executionArn"]
                known[arn] = execution.get("error")
                if execution["status"] == "FAILED":
                    _errors[(arn, str(execution.get("stopDate")))] = known[arn]
    return known


@translated
def queue_depth() -> dict[str, int]:
    """Messages visible and in flight on the orders queue."""
    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=aws.resources().orders_queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return {
        "visible": int(attributes["ApproximateNumberOfMessages"]),
        "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    }
