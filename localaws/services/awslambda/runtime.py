"""Lambda's data plane: each function runs in worker processes of its own, one invocation at a time per worker.

A worker starts with only the environment the function declares plus what Lambda sets, imports its handler once
(a cold start, reported as Init Duration) and then serves warm invocations. A timeout, a crash or running out of
memory ends the worker; the next invocation gets a new one. Configuration and code come from moto's Lambda
backend (what CloudFormation or CreateFunction stored), so a changed function gets fresh workers.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import shutil
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path

from localaws.credentials import Credentials
from localaws.services.awslambda.functions import FunctionConfig, function_config
from localaws.services.awslambda.invocation import InvocationResult
from localaws.services.awslambda.worker import Worker

_log = logging.getLogger(__name__)
WAIT_FOR_WORKER_SECONDS = 60  # beyond the local cap an invocation waits this long for a worker, then is throttled


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
        role_credentials: Callable[[str, str], Credentials],
    ) -> None:
        self._code_root = code_root
        self._role_credentials = role_credentials
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
        """Named by hashes, never by the function's name: a name cannot lead anywhere outside the code folder."""
        function = hashlib.sha256(config.arn.encode()).hexdigest()[:32]
        code = hashlib.sha256(config.code_sha256.encode()).hexdigest()[:32]
        return self._code_root / function / code

    def _unpack(self, config: FunctionConfig, code: bytes) -> None:
        target = self._code_dir(config)
        if not target.resolve().is_relative_to(self._code_root.resolve()):
            raise OSError(f"refusing to unpack {config.name} outside {self._code_root}")
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
                credentials = self._role_credentials(config.role, config.name)
                worker = Worker(config, self._code_dir(config), self.endpoint, credentials)
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
