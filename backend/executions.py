"""Reading workflow executions: an order's outcome and its per-state timeline from the execution history."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

HISTORY_PAGE_LIMIT = 25  # 1,000 events a page: 25,000 events is the Standard workflow history limit


def history_events(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    """An execution's whole event history (GetExecutionHistory, page by page, bounded); the client's errors rise."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    for _ in range(HISTORY_PAGE_LIMIT):
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    return events


class Outcome(StrEnum):
    """Where an order stands, as staff and operators talk about it."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    REJECTED = "REJECTED"
    DECLINED = "DECLINED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    ABORTED = "ABORTED"

    @property
    def terminal(self) -> bool:
        return self not in {Outcome.QUEUED, Outcome.RUNNING}


# The workflow's Fail states name the business outcome in their Error.
_FAILURE_OUTCOMES = {"OrderRejected": Outcome.REJECTED, "PaymentDeclined": Outcome.DECLINED}


def outcome_of(status: str, error: str | None = None) -> Outcome:
    """Map an execution status (and, when FAILED, its error) to the order's outcome."""
    if status == "FAILED":
        return _FAILURE_OUTCOMES.get(error or "", Outcome.FAILED)
    return Outcome(status)


class OrderSummary(BaseModel):
    """One order as a row of a list: what an execution list item tells (error only for failed ones)."""

    order_id: str
    outcome: Outcome
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    error: str | None = None
    status: str | None = None
    execution_arn: str | None = None

    @property
    def duration_ms(self) -> float | None:
        if self.started_at and self.stopped_at:
            return (self.stopped_at - self.started_at).total_seconds() * 1000
        return None


class StateRun(BaseModel):
    """One visit of a state: when it was entered and left, how many attempts, how it ended."""

    name: str
    state_type: str
    entered_at: datetime
    exited_at: datetime | None = None
    status: str = "RUNNING"
    attempts: int = 0
    error: str | None = None
    cause: str | None = None
    failed_attempts: list[str] = []
    input: Any = None
    output: Any = None

    @property
    def duration_ms(self) -> float | None:
        return (self.exited_at - self.entered_at).total_seconds() * 1000 if self.exited_at else None


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def cause_message(cause: str | None) -> str:
    """The readable part of an error Cause: a Lambda error's Cause is its JSON payload, whose message is wanted."""
    parsed = _json(cause)
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        return str(parsed["errorMessage"])
    return cause or ""


def timeline(events: list[dict[str, Any]]) -> list[StateRun]:
    """Fold a Step Functions execution history (oldest first) into one row per state visit."""
    runs: list[StateRun] = []
    current: StateRun | None = None
    for event in sorted(events, key=lambda e: e["id"]):
        kind: str = event["type"]
        at: datetime = event["timestamp"]
        if kind.endswith("StateEntered"):
            if current and current.exited_at is None:
                current.exited_at = at  # left through a Catch without an exit event
            details = event["stateEnteredEventDetails"]
            current = StateRun(
                name=details["name"],
                state_type=kind.removesuffix("StateEntered"),
                entered_at=at,
                input=_json(details.get("input")),
            )
            runs.append(current)
        elif current is None:
            continue
        elif kind in {"TaskScheduled", "LambdaFunctionScheduled"}:
            current.attempts += 1
        elif kind in {"TaskFailed", "TaskTimedOut", "LambdaFunctionFailed", "LambdaFunctionTimedOut"}:
            details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            current.error, current.cause = details.get("error"), details.get("cause")
            current.failed_attempts.append(current.error or "unknown error")
            current.status = "FAILED"
        elif kind in {"TaskSucceeded", "LambdaFunctionSucceeded"}:
            current.status, current.error, current.cause = "SUCCEEDED", None, None
        elif kind.endswith("StateExited"):
            current.exited_at = at
            current.output = _json(event["stateExitedEventDetails"].get("output"))
            if current.status == "RUNNING":
                current.status = "SUCCEEDED"
        elif kind in {"ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"}:
            details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            if current.exited_at is None:
                current.exited_at = at
                current.status = "FAILED"
                current.error = current.error or details.get("error")
                current.cause = current.cause or details.get("cause")
    return runs


class TaskAttempt(BaseModel):
    """One attempt of a task state (a Retry makes more): when it was scheduled and ended, how, what it returned."""

    state: str
    attempt: int  # 1 for the first
    function_name: str | None = None  # the Lambda function a lambda:invoke task called
    scheduled_at: datetime
    ended_at: datetime | None = None
    status: str = "RUNNING"  # SUCCEEDED, FAILED, TIMED_OUT
    error: str | None = None
    output: Any = None  # the task's result (for lambda:invoke, the Invoke answer with its Payload)


_ENDED = {
    "TaskSucceeded": "SUCCEEDED",
    "LambdaFunctionSucceeded": "SUCCEEDED",
    "TaskFailed": "FAILED",
    "LambdaFunctionFailed": "FAILED",
    "TaskStartFailed": "FAILED",
    "LambdaFunctionStartFailed": "FAILED",
    "TaskSubmitFailed": "FAILED",
    "TaskTimedOut": "TIMED_OUT",
    "LambdaFunctionTimedOut": "TIMED_OUT",
}


def task_attempts(events: list[dict[str, Any]]) -> list[TaskAttempt]:
    """Every task attempt of an execution history, oldest first: each scheduled event starts one."""
    attempts: list[TaskAttempt] = []
    state, current = "", None
    for event in sorted(events, key=lambda e: e["id"]):
        kind: str = event["type"]
        if kind.endswith("StateEntered"):
            state = event["stateEnteredEventDetails"]["name"]
        elif kind in {"TaskScheduled", "LambdaFunctionScheduled"}:
            details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            parameters = _json(details.get("parameters"))
            function = parameters.get("FunctionName") if isinstance(parameters, dict) else details.get("resource")
            current = TaskAttempt(
                state=state,
                attempt=1 + sum(1 for a in attempts if a.state == state),
                function_name=str(function).rsplit(":", 1)[-1] if function else None,
                scheduled_at=event["timestamp"],
            )
            attempts.append(current)
        elif kind in _ENDED and current is not None and current.ended_at is None:
            details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            current.ended_at, current.status = event["timestamp"], _ENDED[kind]
            current.error, current.output = details.get("error"), _json(details.get("output"))
    return attempts


class HistoryRow(BaseModel):
    """One event of an execution's history, as the event history table shows it."""

    id: int
    timestamp: datetime
    type: str
    state: str | None = None
    detail: str = ""


def history_rows(events: list[dict[str, Any]]) -> list[HistoryRow]:
    """The history's events, oldest first, each with its state and the details an operator reads."""
    return [_history_row(event) for event in sorted(events, key=lambda e: e["id"])]


def _history_row(event: dict[str, Any]) -> HistoryRow:
    details = next((value for key, value in event.items() if key.endswith("EventDetails")), {}) or {}
    parts = [f"{key}: {details[key]}" for key in ("error", "resource", "redriveCount") if details.get(key)]
    if details.get("cause"):
        parts.append(f"cause: {str(details['cause'])[:300]}")
    return HistoryRow(
        id=event["id"], timestamp=event["timestamp"], type=event["type"], state=details.get("name"),
        detail="; ".join(parts),
    )  # fmt: skip
