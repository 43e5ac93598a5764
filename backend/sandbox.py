"""The local sandbox's own life: when its local AWS started, what it restored, and a deliberate reset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel

from backend import audit, aws
from backend.errors import BackendError, translated
from backend.identity import Caller, Role
from backend.settings import settings

if TYPE_CHECKING:
    from localaws.instance import LocalAwsInfo


class SandboxStatus(BaseModel):
    """The running local AWS: which start this is, what that start brought back, and the last deliberate reset."""

    boot_id: str
    started_at: datetime
    restored: dict[str, int]
    last_reset: datetime | None


@translated
def status() -> SandboxStatus | None:
    """The local AWS's current start (None on AWS): a new boot_id means it restarted since it was last read."""
    return _current() if settings().embedded else None


def _running() -> LocalAwsInfo:
    from localaws import instance

    aws.connection()  # starts it when nothing runs, as every other read does
    info = instance.running()
    if info is None:
        raise BackendError("The local AWS stopped answering; the next read starts it again.")
    return info


def _current() -> SandboxStatus:
    from localaws import instance

    info = _running()
    resets = instance.resets()
    return SandboxStatus(
        boot_id=info.boot_id,
        started_at=datetime.fromtimestamp(info.started_at, UTC),
        restored=info.restored,
        last_reset=datetime.fromisoformat(resets[-1]) if resets else None,
    )


class HistoryKept(BaseModel):
    """What the local AWS still knows: execution records started since a time, and the rule that sets it."""

    since: datetime
    rule: str


def reset_after(at: datetime) -> datetime | None:
    """The first deliberate reset of the local sandbox after a time (None on AWS, or when there was none)."""
    if not settings().embedded:
        return None
    from localaws import instance

    return next((when for when in map(datetime.fromisoformat, instance.resets()) if when > at), None)


def history_kept() -> HistoryKept | None:
    """Since when the local AWS keeps execution records, by age or by number (None on AWS)."""
    if not settings().embedded:
        return None
    from localaws import instance

    info = _running()
    by_age = datetime.now(UTC) - timedelta(hours=info.retention_hours)
    dropped = instance.forgotten_through()
    if dropped is not None and datetime.fromtimestamp(dropped, UTC) > by_age:
        return HistoryKept(
            since=datetime.fromtimestamp(dropped, UTC),
            rule=f"the local AWS keeps the newest {info.max_execution_records:,} execution records",
        )
    return HistoryKept(since=by_age, rule=f"the local AWS keeps execution records for {info.retention_hours:g} h")


@translated
def reset(caller: Caller) -> SandboxStatus:
    """Delete every order, message, execution and payment record of the local sandbox and start it empty; audited
    (the reset deletes the audit log too, so its outcome is the fresh sandbox's first entry)."""
    what = "Resetting the sandbox"
    audit.require(caller, Role.OPERATOR, what, "reset-sandbox", "local sandbox")
    if not settings().embedded:
        raise BackendError("Only the local sandbox can be reset; a stack on AWS is deleted with `make delete`.")
    from localaws import instance

    target = aws.connection().stack_name
    with audit.audited(caller, "reset-sandbox", what, target, detail="delete every record, start empty") as action:
        instance.reset()
        aws.reset()
        fresh = _current()
        requested = action.intent.at.isoformat(timespec="seconds")
        action.done(
            fresh,
            0,
            f"reset requested at {requested} by {caller.label} (that request was in the audit log the reset "
            f"deleted); the local AWS started again at {fresh.started_at.isoformat(timespec='seconds')}",
        )
    return fresh
