"""Operating workflow executions: list them with filters and pages, read their history, stop and redrive them."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from backend import audit, aws
from backend.errors import BackendError, NotFound, translated
from backend.executions import Outcome, outcome_of

STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
REDRIVABLE = {"FAILED", "TIMED_OUT", "ABORTED"}
MAX_PAGE_SIZE = 100  # ListExecutions' own page limit is 1,000; a table page stays small
_ERROR_CACHE_LIMIT = 100_000


class ExecutionRow(BaseModel):
    """One execution as a table row."""

    order_id: str
    execution_arn: str
    status: str
    outcome: Outcome
    started_at: datetime
    stopped_at: datetime | None = None
    error: str | None = None

    @property
    def duration_ms(self) -> float | None:
        return (self.stopped_at - self.started_at).total_seconds() * 1000 if self.stopped_at else None


class ExecutionPage(BaseModel):
    """One page of executions, newest first, and the token of the next (older) page."""

    rows: list[ExecutionRow]
    next_token: str | None = None


class HistoryRow(BaseModel):
    """One event of an execution's history."""

    id: int
    timestamp: datetime
    type: str
    state: str | None = None
    detail: str = ""


class ExecutionFilter(BaseModel):
    """What the executions table shows: a status, a start-time window and/or one order id."""

    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    order_id: str | None = None

    def keeps(self, status: str, started_at: datetime) -> bool:
        """Whether an execution with this status and start time passes the status and window filters."""
        if self.status and status != self.status:
            return False
        if self.since and started_at < self.since:
            return False
        return not (self.until and started_at > self.until)

    def past_window(self, started_at: datetime) -> bool:
        """Whether a listing (newest first) has gone past the window's start: nothing older can match."""
        return bool(self.since and started_at < self.since)


# Failed executions' errors never change until a redrive, which changes their stop date: key on both.
_errors: dict[tuple[str, str], str | None] = {}
_errors_lock = threading.Lock()


def errors_of(sfn: Any, items: Iterable[dict[str, Any]]) -> dict[str, str | None]:
    """The error of each FAILED execution list item (DescribeExecution, cached per execution attempt)."""
    failed = [item for item in items if item["status"] == "FAILED"]
    keys = {item["executionArn"]: (item["executionArn"], str(item.get("stopDate"))) for item in failed}
    with _errors_lock:
        known = {arn: _errors[key] for arn, key in keys.items() if key in _errors}
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


def _row(item: dict[str, Any], error: str | None) -> ExecutionRow:
    return ExecutionRow(
        order_id=item["name"],
        execution_arn=item["executionArn"],
        status=item["status"],
        outcome=outcome_of(item["status"], error),
        started_at=item["startDate"],
        stopped_at=item.get("stopDate"),
        error=error,
    )


def execution_arn(order_id: str) -> str:
    """The execution ARN of an order (executions are named by order id)."""
    return f"{aws.resources().state_machine_arn.replace(':stateMachine:', ':execution:')}:{order_id}"


@translated
def list_executions(filters: ExecutionFilter, page_size: int = 50, next_token: str | None = None) -> ExecutionPage:
    """One page of executions matching the filters, newest first; an order id is looked up directly."""
    sfn = aws.client("stepfunctions")
    if filters.order_id:
        try:
            execution = sfn.describe_execution(executionArn=execution_arn(filters.order_id.strip()))
        except sfn.exceptions.ExecutionDoesNotExist:
            return ExecutionPage(rows=[])
        return ExecutionPage(rows=[_row(execution, execution.get("error"))])
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    kwargs: dict[str, Any] = {"stateMachineArn": aws.resources().state_machine_arn, "maxResults": page_size}
    if filters.status:
        kwargs["statusFilter"] = filters.status
    if next_token:
        kwargs["nextToken"] = next_token
    response = sfn.list_executions(**kwargs)
    items = response.get("executions", [])
    token = response.get("nextToken")
    kept = [item for item in items if filters.keeps(item["status"], item["startDate"])]
    if items and filters.past_window(items[-1]["startDate"]):
        token = None  # the listing is newest first: everything after this page is older than the window
    errors = errors_of(sfn, kept)
    return ExecutionPage(rows=[_row(item, errors.get(item["executionArn"])) for item in kept], next_token=token)


def _detail_text(event: dict[str, Any]) -> tuple[str | None, str]:
    details = next((value for key, value in event.items() if key.endswith("EventDetails")), {}) or {}
    state = details.get("name")
    parts = [f"{key}: {details[key]}" for key in ("error", "resource", "redriveCount") if details.get(key)]
    if details.get("cause"):
        parts.append(f"cause: {str(details['cause'])[:300]}")
    return state, "; ".join(parts)


@translated
def history(order_id: str) -> list[HistoryRow]:
    """The execution's event history, oldest first (a redriven execution keeps its earlier attempts' events)."""
    sfn = aws.client("stepfunctions")
    arn = execution_arn(order_id)
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    try:
        for _ in range(25):  # bounded: 25,000 events is the Standard workflow history limit
            page = sfn.get_execution_history(**kwargs)
            events.extend(page["events"])
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
    except sfn.exceptions.ExecutionDoesNotExist:
        raise NotFound(f"No workflow execution for {order_id}.") from None
    rows = []
    for event in sorted(events, key=lambda e: e["id"]):
        state, detail = _detail_text(event)
        rows.append(
            HistoryRow(id=event["id"], timestamp=event["timestamp"], type=event["type"], state=state, detail=detail)
        )
    return rows


def _describe(sfn: Any, order_id: str) -> dict[str, Any]:
    try:
        return sfn.describe_execution(executionArn=execution_arn(order_id))
    except sfn.exceptions.ExecutionDoesNotExist:
        raise NotFound(f"No workflow execution for {order_id}.") from None


@translated
def stop_execution(order_id: str, actor: str, reason: str = "") -> datetime:
    """Stop a running execution (StopExecution, error OperatorStopped); audited; return the stop date."""
    sfn = aws.client("stepfunctions")
    execution = _describe(sfn, order_id)
    if execution["status"] != "RUNNING":
        raise BackendError(f"{order_id} is {execution['status']}: only a running execution can be stopped.")
    cause = f"stopped by {actor}" + (f": {reason}" if reason else "")
    stopped = sfn.stop_execution(executionArn=execution["executionArn"], error="OperatorStopped", cause=cause)
    stop_date: datetime = stopped.get("stopDate") or datetime.now(UTC)  # the local AWS stops asynchronously
    audit.record(actor, "stop-execution", order_id, 1, cause)
    return stop_date


@translated
def redrive_execution(order_id: str, actor: str) -> datetime:
    """Redrive a failed, timed-out or aborted execution from its unsuccessful step (RedriveExecution); audited."""
    sfn = aws.client("stepfunctions")
    execution = _describe(sfn, order_id)
    if execution["status"] not in REDRIVABLE:
        raise BackendError(
            f"{order_id} is {execution['status']}: only failed, timed-out or aborted executions can be redriven."
        )
    # On AWS this is Step Functions' own redrive; the local AWS answers the same call (backend/local/moto_patches.py).
    redriven = sfn.redrive_execution(executionArn=execution["executionArn"])
    audit.record(
        actor, "redrive-execution", order_id, 1, f"was {execution['status']} ({execution.get('error') or '-'})"
    )
    return redriven["redriveDate"]
