"""Lambda's data plane: each function runs in worker processes of its own, one invocation at a time per worker.

A worker starts with only the environment the function declares plus what Lambda sets, imports its handler once
(a cold start, reported as Init Duration) and then serves warm invocations. A timeout, a crash or running out of
memory ends the worker; the next invocation gets a new one. Configuration and code come from moto's Lambda
backend (what CloudFormation or CreateFunction stored), so a changed function gets fresh workers.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)
BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
INIT_TIMEOUT_SECONDS = 10  # Lambda's limit for the init phase of an on-demand environment
WAIT_FOR_WORKER_SECONDS = 60  # beyond the local cap an invocation waits this long for a worker, then is throttled
_TICK_SECONDS = 0.1


class FunctionNotFound(LookupError):
    """No function by that name or ARN."""


@dataclass(frozen=True)
class FunctionConfig:
    """What running a function needs, read from moto's Lambda backend."""

    name: str
    arn: str
    handler: str
    runtime: str
    timeout_seconds: int
    memory_mb: int
    environment: dict[str, str]
    reserved_concurrency: int | None
    code_sha256: str
    log_group: str
    log_format: str
    region: str

    @property
    def fingerprint(self) -> tuple[Any, ...]:
        """Changes whenever the function's code or configuration does."""
        return (
            self.handler,
            self.runtime,
            self.timeout_seconds,
            self.memory_mb,
            tuple(sorted(self.environment.items())),
            self.code_sha256,
            self.log_group,
            self.log_format,
        )


def _moto_function(name_or_arn: str, region: str, account_id: str) -> Any:
    from moto.awslambda.models import lambda_backends

    if name_or_arn.startswith("arn:"):
        parts = name_or_arn.split(":")
        region, account_id = parts[3], parts[4]
        name, qualifier = parts[6], (parts[7] if len(parts) > 7 else None)
    else:
        name, _, qualifier = name_or_arn.partition(":")
    try:
        return lambda_backends[account_id][region].get_function(name, qualifier or None)
    except Exception as exc:  # moto raises its own UnknownFunctionException (and others for bad qualifiers)
        raise FunctionNotFound(name_or_arn) from exc


def function_config(name_or_arn: str, region: str, account_id: str) -> tuple[FunctionConfig, bytes]:
    """The function's configuration and code zip; FunctionNotFound if there is none."""
    function = _moto_function(name_or_arn, region, account_id)
    logging_config = getattr(function, "logging_config", None) or {}
    config = FunctionConfig(
        name=function.function_name,
        arn=function.function_arn,
        handler=function.handler or "",
        runtime=function.run_time or "",
        timeout_seconds=int(function.timeout),
        memory_mb=int(function.memory_size),
        environment={str(k): str(v) for k, v in (function.environment_vars or {}).items()},
        reserved_concurrency=function.reserved_concurrency,
        code_sha256=function.code_sha_256,
        log_group=logging_config.get("LogGroup") or f"/aws/lambda/{function.function_name}",
        log_format=logging_config.get("LogFormat") or "Text",
        region=function.region,
    )
    return config, function.code_bytes


@dataclass
class InvocationResult:
    """How one invocation ended, with what the worker logged."""

    function: FunctionConfig
    request_id: str
    payload: bytes
    function_error: str | None
    error_type: str | None
    started_at: float
    duration_ms: float
    init_duration_ms: float | None
    max_memory_mb: int
    log_stream: str
    log_lines: list[str] = field(default_factory=list)

    def framed_log_lines(self) -> list[str]:
        """The log lines as Lambda writes them: framed by START and END/REPORT (platform records in JSON format)."""
        return [*_platform_start(self), *self.log_lines, *_platform_end(self)]


def _status(result: InvocationResult) -> str:
    if result.error_type == "Sandbox.Timedout":
        return "timeout"
    return "error" if result.function_error else "success"


def _platform_start(result: InvocationResult) -> list[str]:
    if result.function.log_format == "JSON":
        record = {"requestId": result.request_id, "version": "$LATEST"}
        return [json.dumps({"time": _iso(result.started_at), "type": "platform.start", "record": record})]
    return [f"START RequestId: {result.request_id} Version: $LATEST"]


def _platform_end(result: InvocationResult) -> list[str]:
    """Lambda's END and REPORT lines (platform.report in the JSON log format); Init Duration on a cold start."""
    billed = math.ceil(result.duration_ms)
    memory = result.function.memory_mb
    ended = result.started_at + result.duration_ms / 1000
    if result.function.log_format == "JSON":
        metrics: dict[str, Any] = {
            "durationMs": round(result.duration_ms, 2),
            "billedDurationMs": billed,
            "memorySizeMB": memory,
            "maxMemoryUsedMB": result.max_memory_mb,
        }
        if result.init_duration_ms is not None:
            metrics["initDurationMs"] = round(result.init_duration_ms, 2)
        record = {"requestId": result.request_id, "metrics": metrics, "status": _status(result)}
        return [json.dumps({"time": _iso(ended), "type": "platform.report", "record": record})]
    report = (
        f"REPORT RequestId: {result.request_id}\tDuration: {result.duration_ms:.2f} ms\tBilled Duration: {billed} ms"
        f"\tMemory Size: {memory} MB\tMax Memory Used: {result.max_memory_mb} MB"
    )
    if result.init_duration_ms is not None:
        report += f"\tInit Duration: {result.init_duration_ms:.2f} ms"
    return [f"END RequestId: {result.request_id}", report]


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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

    def __init__(self, config: FunctionConfig, code_dir: Path, endpoint: str) -> None:
        self.config = config
        self.log_stream = time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()) + uuid.uuid4().hex
        self._init_duration_ms: float | None = None  # reported by the first invocation only
        self._buffer = b""
        self._spawned = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(BOOTSTRAP)],
            env=self._environment(code_dir, endpoint),
            cwd=code_dir,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # output written straight to the descriptors goes to the local AWS's own log
            start_new_session=True,
        )

    def _environment(self, code_dir: Path, endpoint: str) -> dict[str, str]:
        config = self.config
        # The declared variables first: Lambda's own names cannot be overridden by a function.
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
            # The execution role's temporary credentials on AWS; the local AWS accepts any.
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_SESSION_TOKEN": "local",
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


class _Pool:
    """The workers of one function configuration, at most `limit` at a time."""

    def __init__(self, config: FunctionConfig, limit: int, throttle_at_limit: bool) -> None:
        self.config = config
        self.limit = limit
        self.throttle_at_limit = throttle_at_limit
        self.idle: list[Worker] = []
        self.count = 0
        self.closed = False
        self.ready = threading.Condition()

    def acquire(self) -> tuple[Worker | None, bool]:
        """An idle worker, or (None, True) when a new one may be started; (None, False) means throttled."""
        deadline = time.monotonic() + (0 if self.throttle_at_limit else WAIT_FOR_WORKER_SECONDS)
        with self.ready:
            while True:
                while self.idle:
                    worker = self.idle.pop()  # the most recently used: the fewest environments stay warm
                    if worker.alive:
                        return worker, False
                    self.count -= 1
                if self.count < self.limit:
                    self.count += 1
                    return None, True
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.ready.wait(remaining):
                    return None, False

    def release(self, worker: Worker | None) -> None:
        """Return a worker after an invocation (None: the worker ended or never started)."""
        with self.ready:
            if worker is not None and worker.alive and not self.closed:
                self.idle.append(worker)
            else:
                self.count -= 1
                if worker is not None:
                    worker.kill()
            self.ready.notify()

    def close(self) -> None:
        """End the idle workers; busy ones end when released."""
        with self.ready:
            self.closed = True
            idle, self.idle = self.idle, []
            self.count -= len(idle)
        for worker in idle:
            worker.kill()


class LambdaRuntime:
    """Runs invocations in per-function worker pools."""

    def __init__(
        self,
        code_root: Path,
        endpoint: str,
        local_concurrency: int,
        on_invocation: Callable[[InvocationResult], None],
        on_throttle: Callable[[str, float], None],
        account_id: str,
    ) -> None:
        self._code_root = code_root
        self.endpoint = endpoint
        self._local_concurrency = local_concurrency
        self._on_invocation = on_invocation
        self._on_throttle = on_throttle
        self._account_id = account_id
        self._pools: dict[str, _Pool] = {}
        self._lock = threading.Lock()

    def function(self, name_or_arn: str, region: str) -> FunctionConfig:
        """The current configuration of a function; FunctionNotFound if there is none."""
        return self._pool(name_or_arn, region).config

    def concurrency_limit(self, name_or_arn: str, region: str) -> int:
        """How many invocations of the function may run at once here."""
        return self._pool(name_or_arn, region).limit

    def _pool(self, name_or_arn: str, region: str) -> _Pool:
        config, code = function_config(name_or_arn, region, self._account_id)
        with self._lock:
            pool = self._pools.get(config.arn)
            if (
                pool
                and pool.config.fingerprint == config.fingerprint
                and pool.config.reserved_concurrency == (config.reserved_concurrency)
            ):
                return pool
            reserved = config.reserved_concurrency
            limit = self._local_concurrency if reserved is None else min(reserved, self._local_concurrency)
            fresh = _Pool(config, limit, throttle_at_limit=reserved is not None and reserved <= limit)
            self._unpack(config, code)
            self._pools[config.arn] = fresh
        if pool:
            pool.close()
        return fresh

    def _code_dir(self, config: FunctionConfig) -> Path:
        return self._code_root / config.name / config.code_sha256.replace("/", "_")[:24]

    def _unpack(self, config: FunctionConfig, code: bytes) -> None:
        target = self._code_dir(config)
        if target.exists():
            return
        staging = target.with_name(target.name + f".{uuid.uuid4().hex}")
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            archive.extractall(staging)
        try:
            staging.rename(target)
        except OSError:  # another thread unpacked the same code first
            shutil.rmtree(staging, ignore_errors=True)

    def invoke(self, name_or_arn: str, region: str, payload: bytes) -> InvocationResult | None:
        """Run one invocation and record it; None when throttled. FunctionNotFound if there is no such function."""
        pool = self._pool(name_or_arn, region)
        config = pool.config
        worker, may_start = pool.acquire()
        if worker is None and not may_start:
            self._on_throttle(config.name, time.time())
            return None
        request_id = str(uuid.uuid4())
        started_at = time.time()
        lines: list[str] = []
        try:
            if worker is None:
                worker = Worker(config, self._code_dir(config), self.endpoint)
                init_error = worker.initialize()
                if init_error:
                    lines.append(json.dumps(init_error))
                    result = self._result(
                        config,
                        request_id,
                        json.dumps(init_error).encode(),
                        init_error["errorType"],
                        started_at,
                        worker,
                        None,
                        lines,
                    )
                    worker.kill()
                    worker = None
                    return result
            init_duration = worker.take_init_duration()
            start = time.monotonic()
            body, error_type = worker.invoke(
                request_id, payload, name_or_arn if ":" in name_or_arn else config.arn, lines
            )
            duration_ms = (time.monotonic() - start) * 1000
            return self._result(
                config, request_id, body, error_type, started_at, worker, init_duration, lines, duration_ms
            )
        finally:
            pool.release(worker)

    def _result(
        self,
        config: FunctionConfig,
        request_id: str,
        body: bytes,
        error_type: str | None,
        started_at: float,
        worker: Worker,
        init_duration: float | None,
        lines: list[str],
        duration_ms: float = 0.0,
    ) -> InvocationResult:
        result = InvocationResult(
            function=config,
            request_id=request_id,
            payload=body,
            function_error="Unhandled" if error_type else None,
            error_type=error_type,
            started_at=started_at,
            duration_ms=duration_ms,
            init_duration_ms=init_duration,
            max_memory_mb=worker.max_memory_mb() if worker.alive else 0,
            log_stream=worker.log_stream,
            log_lines=lines,
        )
        try:
            self._on_invocation(result)
        except Exception:
            _log.exception("recording invocation telemetry failed")
        return result

    def close(self) -> None:
        """End every idle worker."""
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()
