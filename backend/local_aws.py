"""The embedded local AWS as the rest of backend sees it: start, stop, reset and describe it (endpoint, credentials,
state). The one module of backend that reaches the local AWS's own package."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from backend.errors import BackendError
from localaws import instance


class LocalAwsUnavailable(BackendError):
    """The local AWS could not be started, or stopped answering; the message is its own reason."""


class LocalAws(BaseModel):
    """A running local AWS: where it answers, which start this is, and what it keeps."""

    endpoint: str
    pid: int
    region: str
    stack_name: str
    started_at: datetime
    boot_id: str  # new on every start: a reader that saw another one knows the local AWS restarted
    restored: dict[str, int]  # what this start brought back from its journal, counted by kind
    retention_hours: float  # how long it keeps execution records
    max_execution_records: int  # how many it keeps at most


class Credentials(BaseModel):
    """The local AWS's own access key pair (random per state folder): what the SDKs sign its requests with."""

    model_config = ConfigDict(frozen=True)

    access_key_id: str
    secret_access_key: str = Field(repr=False)

    def environment(self) -> dict[str, str]:
        """The variables AWS's SDKs and CLI read credentials from."""
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}


class Status(BaseModel):
    """The running local AWS: which start this is, what that start brought back, and the last deliberate reset."""

    boot_id: str
    started_at: datetime
    restored: dict[str, int]
    last_reset: datetime | None


class HistoryKept(BaseModel):
    """What the local AWS still knows: execution records started since a time, and the rule that sets it."""

    since: datetime
    rule: str


def _described(info: instance.LocalAwsInfo) -> LocalAws:
    return LocalAws(
        endpoint=info.endpoint,
        pid=info.pid,
        region=info.region,
        stack_name=info.stack_name,
        started_at=datetime.fromtimestamp(info.started_at, UTC),
        boot_id=info.boot_id,
        restored=info.restored,
        retention_hours=info.retention_hours,
        max_execution_records=info.max_execution_records,
    )


def start() -> LocalAws:
    """The running local AWS, or one started in the background (its stack deployed) once it answers."""
    try:
        return _described(instance.ensure_running())
    except instance.LocalAwsError as exc:
        raise LocalAwsUnavailable(str(exc)) from exc


def running() -> LocalAws | None:
    """The local AWS running on this machine, if one answers; never starts one."""
    info = instance.running()
    return _described(info) if info else None


def running_endpoint() -> str | None:
    """The endpoint of the local AWS running on this machine; never starts one."""
    try:
        info = instance.running()
    except OSError:  # no state folder can be made or read (a read-only home in a container): none runs here
        return None
    return info.endpoint if info else None


def stop() -> int | None:
    """Stop the local AWS running in the background; its pid, or None when none was running."""
    return instance.stop_running()


def delete_state() -> int | None:
    """Stop the local AWS and delete its journal, so that its next start is empty, and record when; the stopped pid,
    or None when none was running."""
    return instance.reset()


def credentials() -> Credentials:
    """The local AWS's own credentials (made at its first start, kept in its state folder)."""
    try:
        own = instance.credentials()
    except instance.LocalAwsError as exc:
        raise LocalAwsUnavailable(str(exc)) from exc
    return Credentials(access_key_id=own.access_key_id, secret_access_key=own.secret_access_key)


def environment(local: LocalAws) -> dict[str, str]:
    """The variables that point the AWS CLI, the SDKs, the SAM CLI and the app at this local AWS and its stack."""
    return {
        "AWS_ENDPOINT_URL": local.endpoint,
        "AWS_REGION": local.region,
        "AWS_DEFAULT_REGION": local.region,
        **credentials().environment(),
        "ORDERS_STACK_NAME": local.stack_name,
    }


def resets() -> list[datetime]:
    """When the local AWS's state was deliberately deleted, oldest first."""
    return [datetime.fromisoformat(when) for when in instance.resets()]


def _answering() -> LocalAws:
    local = running()
    if local is None:
        raise LocalAwsUnavailable("The local AWS stopped answering; the next read starts it again.")
    return local


def status() -> Status:
    """The running local AWS's start and the last deliberate reset; LocalAwsUnavailable when none answers."""
    local = _answering()
    done = resets()
    return Status(
        boot_id=local.boot_id,
        started_at=local.started_at,
        restored=local.restored,
        last_reset=done[-1] if done else None,
    )


def reset_after(at: datetime) -> datetime | None:
    """The first deliberate reset after a time (None when there was none)."""
    return next((when for when in resets() if when > at), None)


def history_kept() -> HistoryKept:
    """Since when the running local AWS keeps execution records, by age or by number."""
    local = _answering()
    by_age = datetime.now(UTC) - timedelta(hours=local.retention_hours)
    dropped = instance.forgotten_through()
    if dropped is not None and datetime.fromtimestamp(dropped, UTC) > by_age:
        return HistoryKept(
            since=datetime.fromtimestamp(dropped, UTC),
            rule=f"the local AWS keeps the newest {local.max_execution_records:,} execution records",
        )
    return HistoryKept(since=by_age, rule=f"the local AWS keeps execution records for {local.retention_hours:g} h")
