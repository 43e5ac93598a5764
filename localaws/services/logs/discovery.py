"""The fields Logs Insights finds in a log event: the system fields every event has, Lambda's from its START, END
and REPORT lines, a JSON event's keys; and values written as GetQueryResults writes them."""

from __future__ import annotations

import base64
import json
import math
import re
from datetime import UTC, datetime
from typing import Any

# Lambda writes "Memory Size: 128 MB"; Insights reports bytes at 10^6 per MB (AWS's own sample queries divide
# @memorySize and @maxMemoryUsed by 1000 twice to show MB).
BYTES_PER_MB = 1_000_000

_LAMBDA_LINE = re.compile(r"(START|END|REPORT) RequestId: ([^\s]+)")
# The longest names first: "Billed Duration: 3 ms" is not a Duration.
_REPORT_FIELD = re.compile(r"(Billed Duration|Init Duration|Duration|Memory Size|Max Memory Used): ([^\s]+)")
_REPORT_NAMES = {
    "Duration": ("@duration", 1),
    "Billed Duration": ("@billedDuration", 1),
    "Init Duration": ("@initDuration", 1),
    "Memory Size": ("@memorySize", BYTES_PER_MB),
    "Max Memory Used": ("@maxMemoryUsed", BYTES_PER_MB),
}
# Insights discovers at most 200 fields of a JSON event.
MAX_JSON_FIELDS = 200
_NUMBER = re.compile(r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*")


class Instant(int):
    """A time in epoch milliseconds, written as AWS writes @timestamp (2024-05-01 12:00:00.000, UTC)."""

    def __str__(self) -> str:
        moment = datetime.fromtimestamp(int(self) / 1000, UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{int(self) % 1000:03d}"


def event_fields(
    account: str, group: str, stream: str, event_id: int, timestamp: int, ingestion_time: int, message: str
) -> dict[str, Any]:
    """Every field Insights sees in one stored event, @ptr included."""
    fields = json_fields(message) or lambda_fields(message)
    fields.update({
        "@timestamp": Instant(timestamp),
        "@message": message,
        "@logStream": stream,
        "@log": f"{account}:{group}",
        "@ingestionTime": Instant(ingestion_time),
        "@ptr": pointer(account, group, stream, event_id),
    })  # fmt: skip
    return fields


def json_fields(message: str) -> dict[str, Any]:
    """A JSON object's keys as Insights discovers them: nested keys joined by dots, list items by index."""
    if not message.lstrip().startswith("{"):
        return {}
    try:
        document = json.loads(message)
    except ValueError:
        return {}
    fields: dict[str, Any] = {}

    def flatten(value: Any, name: str) -> None:
        if isinstance(value, dict | list):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                flatten(item, f"{name}.{key}" if name else str(key))
        elif len(fields) < MAX_JSON_FIELDS:
            fields[name] = value

    if isinstance(document, dict):
        flatten(document, "")
    return fields


def lambda_fields(message: str) -> dict[str, Any]:
    """@type and @requestId of Lambda's START, END and REPORT lines; a REPORT's durations (ms) and memory (bytes)."""
    line = _LAMBDA_LINE.match(message)
    if not line:
        return {}
    fields: dict[str, Any] = {"@type": line.group(1), "@requestId": line.group(2)}
    if line.group(1) == "REPORT":
        for name, value in _REPORT_FIELD.findall(message, line.end()):
            field, scale = _REPORT_NAMES[name]
            amount = number(value)
            if amount is not None:
                fields[field] = _tidy(amount * scale)
    return fields


def number(value: Any) -> int | float | None:
    """value as a number, when it is one or is text that is only a number; None otherwise."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        text = value.strip()
        return int(text) if text.lstrip("+-").isdigit() else float(text)
    return None


def _tidy(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def write(value: Any) -> str | None:
    """A value as GetQueryResults writes it (None: the field is left out of the row)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer() and abs(value) < 1e18:
            return str(int(value))
        return format(value, ".15g")  # 15 digits: no float noise (0.1 + 0.2 is 0.3)
    return str(value)


def pointer(account: str, group: str, stream: str, event_id: int) -> str:
    """An opaque @ptr naming one event (GetLogRecord, which would read it, is not served)."""
    raw = json.dumps([account, group, stream, event_id], separators=(",", ":")).encode()
    return base64.b64encode(raw).decode()
