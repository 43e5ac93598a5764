"""One execution environment: a process running bootstrap.py for one function configuration."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from localaws.credentials import Credentials
from localaws.services.awslambda.functions import FunctionConfig

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
INIT_TIMEOUT_SECONDS = 10  # Lambda's limit for the init phase of an on-demand environment
_TICK_SECONDS = 0.1


class _WorkerGone(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def _exit_reason(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        with contextlib.suppress(ValueError):
            return f"signal: {signal.Signals(-returncode).name.removeprefix('SIG').lower()}"
        return f"signal: {-returncode}"
    return f"exit status {returncode}"


def _proc_status_mb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


class Worker:
    """One execution environment: a process running bootstrap.py for one function configuration."""

    def __init__(self, config: FunctionConfig, code_dir: Path, endpoint: str, credentials: Credentials) -> None:
        self.config = config
        self.log_stream = time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()) + uuid.uuid4().hex
        self._init_duration_ms: float | None = None  # reported by the first invocation only
        self._buffer = b""
        self._spawned = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(BOOTSTRAP)],
            env=self._environment(code_dir, endpoint) | credentials.environment(),
            cwd=code_dir,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # output written straight to the descriptors goes to the local AWS's own log
            start_new_session=True,
        )

    def _environment(self, code_dir: Path, endpoint: str) -> dict[str, str]:
        config = self.config
        # The declared variables first: Lambda's own names cannot be overridden by a function. The execution role's
        # temporary credentials are added last, as Lambda sets them.
        return config.environment | {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "_HANDLER": config.handler,
            "LAMBDA_TASK_ROOT": str(code_dir),
            "LAMBDA_RUNTIME_DIR": str(BOOTSTRAP.parent),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": config.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream,
            "AWS_LAMBDA_LOG_FORMAT": config.log_format,
            "AWS_REGION": config.region,
            "AWS_DEFAULT_REGION": config.region,
            "AWS_ENDPOINT_URL": endpoint,
        }

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def initialize(self) -> dict[str, Any] | None:
        """Wait for the handler import; return Lambda's init error document, or None when ready."""
        try:
            frame = self._next_frame(time.monotonic() + INIT_TIMEOUT_SECONDS, [])
        except TimeoutError:
            self.kill()
            return {"errorType": "Runtime.InitTimeout", "errorMessage": "Init phase timed out", "stackTrace": []}
        except _WorkerGone as gone:
            return {"errorType": gone.error_type, "errorMessage": str(gone), "stackTrace": []}
        if frame.get("error"):
            self.kill()
            return frame["error"]
        self._init_duration_ms = (time.monotonic() - self._spawned) * 1000
        return None

    def take_init_duration(self) -> float | None:
        """The init duration the first time it is asked for (a cold start), then None (warm)."""
        duration, self._init_duration_ms = self._init_duration_ms, None
        return duration

    def invoke(self, request_id: str, payload: bytes, invoked_arn: str, lines: list[str]) -> tuple[bytes, str | None]:
        """Run one invocation; return (response payload, error type or None). Ends the worker on timeout or crash."""
        deadline = time.monotonic() + self.config.timeout_seconds
        request = {
            "request_id": request_id,
            "payload": payload.decode() or "{}",
            "invoked_function_arn": invoked_arn,
            "deadline_ms": time.time() * 1000 + self.config.timeout_seconds * 1000,
        }
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode())  # type: ignore[union-attr]
            self.process.stdin.flush()  # type: ignore[union-attr]
            frame = self._next_frame(deadline, lines)
        except TimeoutError:
            self.kill()
            message = f"Task timed out after {self.config.timeout_seconds:.2f} seconds"
            lines.append(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {request_id} {message}")
            return _error_payload("Sandbox.Timedout", f"RequestId: {request_id} Error: {message}"), "Sandbox.Timedout"
        except (_WorkerGone, BrokenPipeError) as gone:
            error_type = getattr(gone, "error_type", "Runtime.ExitError")
            self.kill()
            reason = f"Runtime exited with error: {_exit_reason(self.process.returncode)}"
            lines.append(f"RequestId: {request_id} Error: {reason}")
            return _error_payload(error_type, f"RequestId: {request_id} Error: {reason}"), error_type
        if frame["type"] == "result":
            return frame["payload"].encode(), None
        error = frame["error"]
        lines.append(
            json.dumps({"level": "ERROR", "errorType": error["errorType"], "errorMessage": error["errorMessage"]})
        )
        return json.dumps(error).encode(), error["errorType"]

    def max_memory_mb(self) -> int:
        """The most memory the process has held (VmHWM), as REPORT's Max Memory Used."""
        return _proc_status_mb(self.process.pid, "VmHWM:")

    def _next_frame(self, deadline: float, lines: list[str]) -> dict[str, Any]:
        """The next result, error or init frame; log frames on the way are appended to lines."""
        fd = self.process.stdout.fileno()  # type: ignore[union-attr]
        while True:
            while b"\n" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\n", 1)
                frame = json.loads(raw)
                if frame["type"] != "log":
                    return frame
                lines.append(frame["text"])
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], min(remaining, _TICK_SECONDS))
            if not ready:
                if _proc_status_mb(self.process.pid, "VmRSS:") > self.config.memory_mb:
                    self.kill()
                    raise _WorkerGone("Runtime.OutOfMemory", "out of memory")
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                self.process.wait()
                raise _WorkerGone("Runtime.ExitError", _exit_reason(self.process.returncode))
            self._buffer += chunk

    def kill(self) -> None:
        """End the process (and anything it started)."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()  # type: ignore[union-attr]


def _error_payload(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()
