"""Operating workflow executions: list them with filters and pages, stop and redrive them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from backend import audit, aws
from backend.errors import BackendError, NotFound, translated
from backend.executions import OrderSummary
from backend.identity import Caller, Role
from backend.orders import errors_of, execution_arn, summary_of

STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
REDRIVABLE = {"FAILED", "TIMED_OUT", "ABORTED"}
MAX_PAGE_SIZE = 100  # ListExecutions' own page limit is 1,000; a table page stays small
_ERROR_CACHE_LIMIT = 100_000


class ExecutionPage(BaseModel):
    """One page of executions, newest first, and the token of the next (older) page."""

    rows: list[OrderSummary]
    next_token: str | None = None


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


@translated
def list_executions(filters: ExecutionFilter, page_size: int = 50, next_token: str | None = None) -> ExecutionPage:
    """One page of executions matching the filters, newest first; an order id is looked up directly."""
    sfn = aws.client("stepfunctions")
    if filters.order_id:
        try:
            execution = sfn.describe_execution(executionArn=execution_arn(filters.order_id.strip()))
        except sfn.exceptions.ExecutionDoesNotExist:
            return ExecutionPage(rows=[])
        return ExecutionPage(rows=[summary_of(execution, execution.get("error"))])
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
    return ExecutionPage(rows=[summary_of(item, errors.get(item["executionArn"])) for item in kept], next_token=token)


def _describe(sfn: Any, order_id: str) -> dict[str, Any]:
    try:
        return sfn.describe_execution(executionArn=execution_arn(order_id))
    except sfn.exceptions.ExecutionDoesNotExist:
        raise NotFound(f"No workflow execution for {order_id}.") from None


@translated
def stop_execution(order_id: str, caller: Caller, reason: str = "") -> datetime:
    """Stop a running execution (StopExecution, error OperatorStopped); audited; return the stop date."""
    what = "Stopping an execution"
    audit.require(caller, Role.OPERATOR, what, "stop-execution", order_id)
    sfn = aws.client("stepfunctions")
    execution = _describe(sfn, order_id)
    if execution["status"] != "RUNNING":
        raise BackendError(f"{order_id} is {execution['status']}: only a running execution can be stopped.")
    cause = f"stopped by {caller.label}" + (f": {reason}" if reason else "")
    with audit.audited(caller, "stop-execution", what, order_id, count=1, detail=cause) as action:
        stopped = sfn.stop_execution(executionArn=execution["executionArn"], error="OperatorStopped", cause=cause)
        stop_date: datetime = stopped.get("stopDate") or datetime.now(UTC)  # the local AWS stops asynchronously
        action.done(stop_date, 1, cause)
    return stop_date


@translated
def redrive_execution(order_id: str, caller: Caller) -> datetime:
    """Redrive a failed, timed-out or aborted execution from its unsuccessful step (RedriveExecution); audited."""
    what = "Redriving an execution"
    audit.require(caller, Role.OPERATOR, what, "redrive-execution", order_id)
    sfn = aws.client("stepfunctions")
    execution = _describe(sfn, order_id)
    if execution["status"] not in REDRIVABLE:
        raise BackendError(
            f"{order_id} is {execution['status']}: only failed, timed-out or aborted executions can be redriven."
        )
    was = f"was {execution['status']} ({execution.get('error') or '-'})"
    with audit.audited(caller, "redrive-execution", what, order_id, count=1, detail=was) as action:
        # On AWS this is Step Functions' own redrive; the local AWS answers the same call
        # (localaws/services/stepfunctions.py).
        redriven = sfn.redrive_execution(executionArn=execution["executionArn"])
        action.done(redriven["redriveDate"], 1, was)
    return redriven["redriveDate"]
