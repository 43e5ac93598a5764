"""Each order's log lines: the functions' structured (Powertools JSON) lines in CloudWatch Logs that carry its id."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from backend import aws
from backend.errors import BackendError, translated
from lambdas.domain.order import placed_at

# The pipeline's functions in the order an order meets them (keys of Resources.function_names).
FUNCTIONS = ("start_order", "validate_order", "process_payment", "send_notification")
MARGIN = timedelta(minutes=5)  # clock skew between the placing machine and AWS, and log delivery after the stop
MAX_PAGES = 10
_ORDER_ID = re.compile(r"ord_[0-9a-z]{26}")
# Keys every Powertools line has; the rest are the line's own details.
_STANDARD_KEYS = {
    "level",
    "location",
    "message",
    "timestamp",
    "service",
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "xray_trace_id",
    "sampling_rate",
    "correlation_id",
    "order_id",
}


class LogLine(BaseModel):
    """One structured log line of a function."""

    at: datetime
    level: str
    function: str
    message: str
    details: dict[str, Any] = {}
    order_id: str | None = None
    request_id: str | None = None
    cold_start: bool | None = None


def log_group(function_name: str) -> str:
    """A function's log group: the stack gives each function the Lambda default one, /aws/lambda/<name>."""
    return f"/aws/lambda/{function_name}"


def _timestamp(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    for parse in (
        lambda value: datetime.strptime(value, "%Y-%m-%d %H:%M:%S,%f%z"),  # Powertools' default
        lambda value: datetime.fromisoformat(value.replace("Z", "+00:00")),  # Lambda's JSON records
    ):
        try:
            return parse(text).astimezone(UTC)
        except ValueError:
            continue
    return None


def parse_event(message: str, event_at: datetime, function: str) -> LogLine | None:
    """A log line from a CloudWatch Logs event; None for what is not an application log line (EMF metric blobs,
    Lambda's platform records)."""
    try:
        document = json.loads(message)
    except ValueError:
        document = None
    if not isinstance(document, dict):  # a print() or a plain logging line
        text = message.strip()
        return LogLine(at=event_at, level="-", function=function, message=text) if text else None
    if "_aws" in document or str(document.get("type", "")).startswith("platform."):
        return None
    text = document.get("message")
    if text is None and "errorType" in document:  # the runtime's record of an unhandled error
        text = f"{document['errorType']}: {document.get('errorMessage', '')}"
    order_id = document.get("correlation_id") or document.get("order_id")
    return LogLine(
        at=_timestamp(document.get("timestamp")) or event_at,
        level=str(document.get("level", "-")).upper(),
        function=function,
        message=str(text if text is not None else message),
        details={key: value for key, value in document.items() if key not in _STANDARD_KEYS | {"errorType"}},
        order_id=order_id if isinstance(order_id, str) else None,
        request_id=document.get("function_request_id"),
        cold_start=document["cold_start"] if isinstance(document.get("cold_start"), bool) else None,
    )


def filter_events(
    logs: Any, group: str, pattern: str, since: datetime, until: datetime, max_pages: int = MAX_PAGES
) -> tuple[list[dict[str, Any]], bool]:
    """FilterLogEvents over [since, until], oldest first; whether pages were left unread. A missing group is empty.
    The pattern is a quoted term: the one kind of pattern both AWS and the local AWS answer."""
    kwargs: dict[str, Any] = {
        "logGroupName": group,
        "startTime": int(since.timestamp() * 1000),
        "endTime": int(until.timestamp() * 1000),
        "filterPattern": pattern,
    }
    events: list[dict[str, Any]] = []
    try:
        for _ in range(max_pages):
            page = logs.filter_log_events(**kwargs)
            events.extend(page.get("events", []))
            if not page.get("nextToken"):
                return events, False
            kwargs["nextToken"] = page["nextToken"]
    except logs.exceptions.ResourceNotFoundException:
        return [], False
    return events, True


def lines_of(events: list[dict[str, Any]], function: str) -> list[LogLine]:
    """Parse one function's events; a line without its own time follows the line before it in its stream."""
    parsed: list[LogLine] = []
    last_in_stream: dict[str, datetime] = {}
    for event in events:
        event_at = datetime.fromtimestamp(event["timestamp"] / 1000, UTC)
        stream = event.get("logStreamName", "")
        line = parse_event(event["message"], max(event_at, last_in_stream.get(stream, event_at)), function)
        if line is not None:
            last_in_stream[stream] = line.at
            parsed.append(line)
    return parsed


@translated
def for_order(order_id: str, stopped_at: datetime | None = None) -> list[LogLine]:
    """Every function's log lines for one order, oldest first: from its placing (its ULID's time) to its stop."""
    if not _ORDER_ID.fullmatch(order_id):
        raise BackendError(f"Not an order id: {order_id!r} (expected ord_ and 26 lower-case letters and digits).")
    since = placed_at(order_id) - MARGIN
    until = (stopped_at or datetime.now(UTC)) + MARGIN
    logs = aws.client("logs")
    names = aws.resources().function_names
    functions = [(key, names[key]) for key in FUNCTIONS if key in names]

    def read(function: tuple[str, str]) -> list[LogLine]:
        events, _ = filter_events(logs, log_group(function[1]), f'"{order_id}"', since, until)
        # The term filter only narrows; keep the lines that really name this order.
        return [line for line in lines_of(events, function[1]) if line.order_id == order_id or order_id in line.message]

    with ThreadPoolExecutor(max_workers=len(functions) or 1) as pool:
        found = [line for lines in pool.map(read, functions) for line in lines]
    rank = {name: index for index, (_, name) in enumerate(functions)}
    return sorted(found, key=lambda line: (line.at, rank.get(line.function, 0)))
