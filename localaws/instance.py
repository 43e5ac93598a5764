"""One local AWS per machine: find the running one, or start it in the background and wait until it answers."""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from localaws import credentials as instance_credentials
from localaws.credentials import Credentials
from localaws.journal import journal_files

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ERROR_PREFIX = "localaws: error: "  # the line a local AWS that could not start ends its log with
START_TIMEOUT_SECONDS = 90


class LocalAwsError(RuntimeError):
    """The local AWS could not be started or reached."""


class LocalAwsInfo(BaseModel):
    """What a running local AWS publishes about itself in its state file."""

    endpoint: str
    pid: int
    started_at: float
    region: str
    stack_name: str
    boot_id: str = ""  # new on every start: a reader that saw another one knows the local AWS restarted
    restored: dict[str, int] = {}  # what this start brought back from the journal, counted by kind
    retention_hours: float = 24  # how long it keeps execution records (ORDERS_LOCAL_RETENTION_HOURS)
    max_execution_records: int = 50_000  # how many it keeps at most (ORDERS_LOCAL_MAX_EXECUTION_RECORDS)


def state_dir() -> Path:
    """Where the state file, lock and log live (ORDERS_LOCAL_STATE_DIR, else a per-user cache folder)."""
    configured = os.environ.get("ORDERS_LOCAL_STATE_DIR")
    path = Path(configured) if configured else Path.home() / ".cache" / "order-pipeline"
    path.mkdir(parents=True, exist_ok=True)
    return path


def state_file() -> Path:
    """The file a running local AWS describes itself in."""
    return state_dir() / "local-aws.json"


def log_file() -> Path:
    """Where a background local AWS writes its output."""
    return state_dir() / "local-aws.log"


def credentials() -> Credentials:
    """The credentials of this machine's local AWS (made at its first start, kept in its state folder, mode 0600)."""
    found = instance_credentials.load(state_dir())
    if found is None:
        raise LocalAwsError(f"no credentials in {instance_credentials.path_in(state_dir())}: start the local AWS first")
    return found


def publish(info: LocalAwsInfo) -> None:
    """Announce a running local AWS (atomically, so a reader never sees half a file)."""
    tmp = state_file().with_suffix(".tmp")
    tmp.write_text(info.model_dump_json())
    tmp.replace(state_file())


def unpublish(pid: int) -> None:
    """Remove the state file if it still describes this process."""
    info = _read_state()
    if info and info.pid == pid:
        state_file().unlink(missing_ok=True)


def _read_state() -> LocalAwsInfo | None:
    try:
        return LocalAwsInfo.model_validate_json(state_file().read_text())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # An exited process nobody has reaped yet (a zombie) still answers kill(pid, 0).
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _answers(endpoint: str) -> bool:
    host, port = endpoint.removeprefix("http://").rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def running() -> LocalAwsInfo | None:
    """The local AWS running on this machine, if one answers."""
    info = _read_state()
    if info and _alive(info.pid) and _answers(info.endpoint):
        return info
    return None


@contextlib.contextmanager
def _start_lock() -> Iterator[None]:
    with open(state_dir() / "local-aws.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_running(timeout_seconds: float = START_TIMEOUT_SECONDS) -> LocalAwsInfo:
    """Attach to the running local AWS, or start one in the background and wait until it answers."""
    info = running()
    if info:
        return info
    with _start_lock():
        info = running()  # another process may have started it while we waited for the lock
        if info:
            return info
        with open(log_file(), "wb") as log:  # one log per run: its last error line is this run's
            process = subprocess.Popen(
                [sys.executable, "-m", "localaws"],
                cwd=PROJECT_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives the app or CLI that started it
            )
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            info = running()
            if info and info.pid == process.pid:
                return info
            if process.poll() is not None:
                raise LocalAwsError(_failure(log_file()))
            time.sleep(0.1)
        process.terminate()
        raise LocalAwsError(f"the local AWS did not answer within {timeout_seconds:.0f} s; see {log_file()}")


def stop_running(timeout_seconds: float = 15) -> int | None:
    """Stop the background local AWS; return its pid, or None if none was running."""
    info = running()
    if info is None:
        return None
    os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline and _alive(info.pid):
        time.sleep(0.1)
    if _alive(info.pid):
        os.kill(info.pid, signal.SIGKILL)
    unpublish(info.pid)
    return info.pid


def forgotten_file(folder: Path | None = None) -> Path:
    """Where the local AWS of a state folder (this machine's by default) records the start time of the newest
    execution record it dropped."""
    return (folder or state_dir()) / "forgotten.json"


def record_forgotten(started_through: float, folder: Path | None = None) -> None:
    """Record that every execution started at or before this time (epoch seconds) is gone (atomically)."""
    tmp = forgotten_file(folder).with_suffix(".tmp")
    tmp.write_text(json.dumps({"started_through": started_through}))
    tmp.replace(forgotten_file(folder))


def forgotten_through(folder: Path | None = None) -> float | None:
    """The start time of the newest execution record dropped, by age or by number (None when none was)."""
    try:
        return float(json.loads(forgotten_file(folder).read_text())["started_through"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def resets_file() -> Path:
    """The record of deliberate resets (ISO times, oldest first): state lost on purpose, not in a crash."""
    return state_dir() / "resets.json"


def resets() -> list[str]:
    """When the local AWS's state was deliberately deleted (ISO 8601 UTC times, oldest first)."""
    try:
        recorded = json.loads(resets_file().read_text())
    except (OSError, ValueError):
        return []
    return [str(when) for when in recorded] if isinstance(recorded, list) else []


def reset() -> int | None:
    """Stop the running local AWS and delete its journal, so the next start is empty; record when. Return the
    stopped pid, or None if none was running."""
    with _start_lock():  # no start in between: it would restore the journal being deleted
        pid = stop_running()
        for path in [*journal_files(state_dir()), forgotten_file()]:
            path.unlink(missing_ok=True)
        tmp = resets_file().with_suffix(".tmp")
        tmp.write_text(json.dumps([*resets(), datetime.datetime.now(datetime.UTC).isoformat()]))
        tmp.replace(resets_file())
    return pid


def _failure(log: Path) -> str:
    """Why the local AWS did not start: its own error line, else the end of its log."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    for line in reversed(lines):
        if line.startswith(ERROR_PREFIX):
            return line.removeprefix(ERROR_PREFIX)
    tail = "\n".join(lines[-20:])
    return f"the local AWS exited while starting; see {log}:\n{tail}"
