"""Running a CloudWatch Logs Insights query: StartQuery, then GetQueryResults polled with a bound until Complete,
its rows validated into a pydantic model (the same calls on the local AWS and on AWS)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from backend import aws
from backend.errors import BackendError

M = TypeVar("M", bound=BaseModel)
POLL_SECONDS = 0.5
TIMEOUT_SECONDS = 60.0
_RUNNING = {"Scheduled", "Running"}


class QueryFailed(BackendError):
    """A Logs Insights query that failed, was cancelled, or did not complete in time."""


def cells(row: list[dict[str, str]]) -> dict[str, str]:
    """One GetQueryResults row as {field: value}, without the @ptr pointer Insights adds to raw records."""
    return {cell["field"]: cell["value"] for cell in row if cell.get("field") != "@ptr" and "value" in cell}


def run_query(
    log_group: str,
    query: str,
    since: datetime,
    until: datetime,
    timeout_seconds: float = TIMEOUT_SECONDS,
    poll_seconds: float = POLL_SECONDS,
) -> list[dict[str, str]]:
    """The rows of one query over one log group in [since, until]; callers add @translated."""
    logs = aws.client("logs")
    started = logs.start_query(
        logGroupName=log_group,
        startTime=int(since.timestamp()),
        endTime=int(until.timestamp()) + 1,  # whole seconds: the last one is included
        queryString=query,
    )
    query_id = started["queryId"]
    deadline = time.monotonic() + timeout_seconds
    while True:
        answer: dict[str, Any] = logs.get_query_results(queryId=query_id)
        status = answer.get("status", "Unknown")
        if status == "Complete":
            return [cells(row) for row in answer.get("results", [])]
        if status not in _RUNNING:
            raise QueryFailed(f"The Logs Insights query over {log_group} ended {status}.")
        if time.monotonic() >= deadline:
            # Not stopped: AWS ends it within its own 60-minute limit, and StopQuery would need logs:StopQuery on "*".
            raise QueryFailed(f"The Logs Insights query over {log_group} did not complete in {timeout_seconds:.0f} s.")
        time.sleep(poll_seconds)  # AWS answers Running until the query has scanned the window


def typed_rows(rows: list[dict[str, str]], model: type[M]) -> list[M]:
    """Rows as the model's instances (pydantic turns Insights' text values into numbers and times)."""
    return [model.model_validate(row) for row in rows]
