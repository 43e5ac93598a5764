"""Operator actions (redrive, purge, stop) recorded in CloudWatch Logs: who (name, e-mail, subject), when, what."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from backend import aws
from backend.errors import translated
from backend.identity import Caller

_known_streams: set[tuple[str, str]] = set()
_lock = threading.Lock()


class AuditEntry(BaseModel):
    """One operator action."""

    at: datetime
    actor: str
    email: str | None = None  # the signed-in person's e-mail and ID-token subject (absent when sign-in is off)
    subject: str | None = None
    action: str
    target: str
    count: int = 0
    detail: str = ""


def _stream_name(at: datetime) -> str:
    return f"{at:%Y/%m/%d}"


def _ensure_stream(logs: Any, group: str, stream: str) -> None:
    key = (aws.connection().endpoint_url or aws.connection().region, group, stream)
    with _lock:
        if key in _known_streams:
            return
    try:
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
    except logs.exceptions.ResourceNotFoundException:
        # The stack creates the group on AWS; the local AWS starts without it.
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=group)
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
    with _lock:
        _known_streams.add(key)


@translated
def record(caller: Caller, action: str, target: str, count: int = 0, detail: str = "") -> AuditEntry:
    """Write one audit entry (one JSON line in the day's stream of the audit log group)."""
    entry = AuditEntry(
        at=datetime.now(UTC),
        actor=caller.name or caller.label,
        email=caller.email,
        subject=caller.subject,
        action=action,
        target=target,
        count=count,
        detail=detail,
    )
    logs = aws.client("logs")
    group = aws.resources().audit_log_group
    stream = _stream_name(entry.at)
    _ensure_stream(logs, group, stream)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": int(entry.at.timestamp() * 1000), "message": entry.model_dump_json()}],
    )
    return entry


@translated
def recent(limit: int = 50, days: int = 7) -> list[AuditEntry]:
    """The newest audit entries of the last days (newest first); empty if nothing was ever recorded."""
    logs = aws.client("logs")
    start = int((time.time() - timedelta(days=days).total_seconds()) * 1000)
    entries: list[AuditEntry] = []
    kwargs: dict[str, object] = {"logGroupName": aws.resources().audit_log_group, "startTime": start}
    try:
        for _ in range(20):  # bounded: at most 20 pages
            page = logs.filter_log_events(**kwargs)
            for event in page.get("events", []):
                try:
                    entries.append(AuditEntry.model_validate(json.loads(event["message"])))
                except ValueError:
                    continue
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]
