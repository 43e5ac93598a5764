"""The local sandbox as the app offers it: only where the app runs the embedded local AWS itself, its status (when it
started, what it restored, the last reset), what it still keeps, and a deliberate, audited reset."""

from __future__ import annotations

from datetime import datetime

from backend import audit, aws, local_aws
from backend.errors import BackendError, translated
from backend.identity import Caller, Role
from backend.local_aws import HistoryKept, Status
from backend.settings import settings

__all__ = ["HistoryKept", "Status", "history_kept", "reset", "reset_after", "status"]


@translated
def status() -> Status | None:
    """The local AWS's current start (None on AWS): a new boot_id means it restarted since it was last read."""
    if not settings().embedded:
        return None
    aws.connection()  # starts it when nothing runs, as every other read does
    return local_aws.status()


def reset_after(at: datetime) -> datetime | None:
    """The first deliberate reset of the local sandbox after a time (None on AWS, or when there was none)."""
    return local_aws.reset_after(at) if settings().embedded else None


def history_kept() -> HistoryKept | None:
    """Since when the local AWS keeps execution records, by age or by number (None on AWS)."""
    if not settings().embedded:
        return None
    aws.connection()
    return local_aws.history_kept()


@translated
def reset(caller: Caller) -> Status:
    """Delete every order, message, execution and payment record of the local sandbox and start it empty; audited
    (the reset deletes the audit log too, so its outcome is the fresh sandbox's first entry)."""
    what = "Resetting the sandbox"
    audit.require(caller, Role.OPERATOR, what, "reset-sandbox", "local sandbox")
    if not settings().embedded:
        raise BackendError("Only the local sandbox can be reset; a stack on AWS is deleted with `make delete`.")
    target = aws.connection().stack_name
    with audit.audited(caller, "reset-sandbox", what, target, detail="delete every record, start empty") as action:
        local_aws.delete_state()
        aws.reset()
        aws.connection()
        fresh = local_aws.status()
        requested = action.intent.at.isoformat(timespec="seconds")
        action.done(
            fresh,
            0,
            f"reset requested at {requested} by {caller.label} (that request was in the audit log the reset "
            f"deleted); the local AWS started again at {fresh.started_at.isoformat(timespec='seconds')}",
        )
    return fresh
