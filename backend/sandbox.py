"""The local sandbox's own life: when its local AWS started, what it restored, and a deliberate reset."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from backend import aws
from backend.errors import BackendError, translated
from backend.identity import Caller, Role, require
from backend.settings import settings


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


def _current() -> SandboxStatus:
    from localaws import instance

    aws.connection()  # starts it when nothing runs, as every other read does
    info = instance.running()
    if info is None:
        raise BackendError("The local AWS stopped answering; the next read starts it again.")
    resets = instance.resets()
    return SandboxStatus(
        boot_id=info.boot_id,
        started_at=datetime.fromtimestamp(info.started_at, UTC),
        restored=info.restored,
        last_reset=datetime.fromisoformat(resets[-1]) if resets else None,
    )


@translated
def reset(caller: Caller) -> SandboxStatus:
    """Delete every order, message, execution and payment record of the local sandbox and start it empty."""
    require(caller, Role.OPERATOR, "Resetting the sandbox")
    if not settings().embedded:
        raise BackendError("Only the local sandbox can be reset; a stack on AWS is deleted with `make delete`.")
    from localaws import instance

    instance.reset()
    aws.reset()
    return _current()
