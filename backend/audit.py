"""The audit log in CloudWatch Logs: every guarded action's intent (written before it: no record, no action) and
outcome (after it, referring to the intent by a shared id), and every refused attempt; who by issuer, subject and
e-mail."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, model_validator
from ulid import ULID

from backend import aws
from backend.errors import BackendError, explain, translated
from backend.identity import Caller, Forbidden, Role
from backend.identity import require as require_role

Phase = Literal["intent", "outcome", "refused"]
Result = Literal["succeeded", "failed"]
PLACE_ORDERS = "place-orders"
MAX_DETAIL = 1_000  # characters: a failure's message can list thousands of order ids
_WRITE_ERRORS = (ClientError, BotoCoreError, BackendError)

_log = logging.getLogger(__name__)
_known_streams: set[tuple[str, str, str]] = set()
_lock = threading.Lock()


class AuditEntry(BaseModel):
    """One line of the audit log: an action's intent or outcome, or a refused attempt."""

    at: datetime
    id: str = ""  # a ULID an action's intent and outcome share (a refusal has its own)
    phase: Phase = "outcome"
    outcome: Result | None = None  # outcomes only
    actor: str
    issuer: str | None = None  # the ID token's iss, sub and e-mail (absent when sign-in is off)
    subject: str | None = None
    email: str | None = None
    role: str | None = None  # the caller's role then ("no role" for a person who earns none)
    needed: str | None = None  # refusals only: the role the action needs
    action: str
    target: str
    count: int = 0
    detail: str = ""
    requested_at: datetime | None = None  # outcomes only: when the intent was written

    @model_validator(mode="before")
    @classmethod
    def _before_intents(cls, data: Any) -> Any:
        # Entries written before intents existed were recorded once their action had succeeded.
        if isinstance(data, dict) and "phase" not in data:
            return {**data, "outcome": data.get("outcome") or "succeeded"}
        return data


class AuditedAction(BaseModel):
    """One audited action as a person reads it: its intent and outcome joined, or a refused attempt."""

    id: str
    requested_at: datetime
    finished_at: datetime | None = None
    action: str
    target: str
    outcome: str  # succeeded, failed, refused, or "no outcome recorded" (it may or may not have happened)
    actor: str
    issuer: str | None = None
    subject: str | None = None
    email: str | None = None
    role: str | None = None
    needed: str | None = None
    count: int = 0
    detail: str = ""


class OutcomeNotRecorded(BackendError):
    """The action was done, but its outcome could not be written to the audit log; result is what it returned."""

    def __init__(self, message: str, result: Any = None) -> None:
        self.result = result
        super().__init__(message)


class Action:
    """A guarded action under way, its intent recorded: the figures and result its outcome will carry."""

    def __init__(self, intent: AuditEntry) -> None:
        self.intent = intent
        self.count = intent.count
        self.detail = ""
        self.result: Any = None

    def done(self, result: Any, count: int, detail: str = "") -> None:
        """Set what the action returns and the figures its outcome records."""
        self.result, self.count, self.detail = result, count, detail


def _why(error: Exception) -> str:
    return explain(error) if isinstance(error, ClientError | BotoCoreError) else str(error)


def _entry(caller: Caller, phase: Phase, action: str, target: str, **fields: Any) -> AuditEntry:
    detail = str(fields.pop("detail", ""))
    return AuditEntry(
        at=datetime.now(UTC),
        phase=phase,
        actor=caller.name or caller.label,
        issuer=caller.issuer,
        subject=caller.subject,
        email=caller.email,
        role=caller.role_name,
        action=action,
        target=target,
        detail=detail if len(detail) <= MAX_DETAIL else detail[: MAX_DETAIL - 1] + "…",
        **fields,
    )


def _stream_name(at: datetime) -> str:
    return f"{at:%Y/%m/%d}"


def _stream_key(group: str, stream: str) -> tuple[str, str, str]:
    return (aws.connection().endpoint_url or aws.connection().region, group, stream)


def _ensure_stream(logs: Any, group: str, stream: str) -> None:
    key = _stream_key(group, stream)
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


def _write(entry: AuditEntry) -> None:
    """Append one entry (one JSON line in the day's stream of the audit log group); raise if it was not written."""
    logs = aws.client("logs")
    group = aws.resources().audit_log_group
    stream = _stream_name(entry.at)
    event = {"timestamp": int(entry.at.timestamp() * 1000), "message": entry.model_dump_json(exclude_none=True)}
    _ensure_stream(logs, group, stream)
    try:
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[event])
    except logs.exceptions.ResourceNotFoundException:
        # The stream this process made is gone (a sandbox reset deletes the local AWS's state): make it again.
        with _lock:
            _known_streams.discard(_stream_key(group, stream))
        _ensure_stream(logs, group, stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[event])


@contextlib.contextmanager
def audited(
    caller: Caller, action: str, what: str, target: str, *, count: int = 0, detail: str = ""
) -> Iterator[Action]:
    """Record the intent, run the block (the action), then record its outcome with the same id.

    No intent written: the block does not run, and BackendError says "not done". No outcome written: the action
    stands, and OutcomeNotRecorded says so (with the action's result). what names the action to a person."""
    intent = _entry(caller, "intent", action, target, id=str(ULID()), count=count, detail=detail)
    try:
        _write(intent)
    except _WRITE_ERRORS as exc:
        raise BackendError(f"{what}: not done: the audit log could not be written: {_why(exc)}") from exc
    progress = Action(intent)

    def outcome(result: Result, detail: str) -> AuditEntry:
        entry = _entry(
            caller, "outcome", action, target, id=intent.id, outcome=result, count=progress.count, detail=detail
        )
        return entry.model_copy(update={"requested_at": intent.at})

    try:
        yield progress
    except Exception as exc:
        why = _why(exc)
        try:
            _write(outcome("failed", why))
        except _WRITE_ERRORS as log_error:
            raise BackendError(
                f"{why} (and the audit log could not record that {what.lower()} failed: {_why(log_error)})"
            ) from exc
        raise
    try:
        _write(outcome("succeeded", progress.detail))
    except _WRITE_ERRORS as exc:
        raise OutcomeNotRecorded(
            f"{what}: done ({progress.detail or f'{progress.count}'}), but the audit log could not record its "
            f"outcome: {_why(exc)}",
            progress.result,
        ) from exc


def require(caller: Caller, needed: Role, what: str, action: str, target: str) -> None:
    """Refuse with Forbidden unless the caller's role allows the action; a refusal is recorded, best effort (it
    refuses all the same when the audit log cannot be written)."""
    try:
        require_role(caller, needed, what)
    except Forbidden as refused:
        entry = _entry(caller, "refused", action, target, id=str(ULID()), needed=needed.value, detail=str(refused))
        try:
            _write(entry)
        except _WRITE_ERRORS as exc:
            _log.warning("could not record a refused %s by %s: %s", action, caller.subject, _why(exc))
        raise


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


def joined(entries: Iterable[AuditEntry]) -> list[AuditedAction]:
    """Entries as actions, newest first: each intent with its outcome, each refusal, each outcome whose intent is
    gone; an intent without an outcome says so (the action may or may not have happened)."""
    intents: dict[str, AuditEntry] = {}
    outcomes: dict[str, AuditEntry] = {}
    rows: list[AuditedAction] = []
    for entry in entries:
        if entry.phase == "intent" and entry.id:
            intents[entry.id] = entry
        elif entry.phase == "outcome" and entry.id:
            outcomes[entry.id] = entry
        else:  # a refusal, or an entry from before intents existed
            rows.append(_action(entry, None, entry.outcome or "refused"))
    for key, intent in intents.items():
        finished = outcomes.pop(key, None)
        rows.append(_action(intent, finished, finished.outcome if finished and finished.outcome else None))
    rows.extend(_action(outcome, outcome, outcome.outcome or "succeeded") for outcome in outcomes.values())
    rows.sort(key=lambda row: row.requested_at, reverse=True)
    return rows


def _action(first: AuditEntry, finished: AuditEntry | None, outcome: str | None) -> AuditedAction:
    """A row from an intent (and its outcome, if recorded), a refusal, or an outcome alone (first is finished)."""
    requested = first.requested_at if first.phase == "outcome" and first.requested_at else first.at
    ended = finished.at if finished else (None if first.phase == "intent" else first.at)
    last = finished or first
    return AuditedAction(
        id=first.id,
        requested_at=requested,
        finished_at=ended,
        action=first.action,
        target=first.target,
        outcome=outcome or "no outcome recorded",
        actor=first.actor,
        issuer=first.issuer,
        subject=first.subject,
        email=first.email,
        role=first.role,
        needed=first.needed,
        count=last.count,
        detail=last.detail or first.detail,
    )


@translated
def recent_actions(limit: int = 50, days: int = 7, placed_orders: bool = False) -> list[AuditedAction]:
    """The newest audited actions of the last days (newest first), placed orders only when asked for."""
    rows = joined(recent(limit=20 * limit, days=days))
    return [row for row in rows if placed_orders or row.action != PLACE_ORDERS][:limit]
