"""A local Lambda runtime: runs our real handlers in-process behind the Lambda Invoke API, with AWS error semantics."""

from __future__ import annotations

import importlib
import io
import json
import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from backend.local.functions import FunctionSpec

MEMORY_MB = 256
THROTTLE_AFTER_SECONDS = 60
_log = logging.getLogger(__name__)


_capture = threading.local()  # module-level: every proxy instance routes by the same per-thread buffer


class _ThreadRoutedStdout(io.TextIOBase):
    """sys.stdout replacement: a thread running a handler writes into its invocation's buffer, others pass through."""

    def __init__(self, fallback: Any) -> None:
        self._fallback = fallback

    def write(self, text: str) -> int:
        buffer = getattr(_capture, "buffer", None)
        if buffer is None:
            return self._fallback.write(text)
        buffer.append(text)
        return len(text)

    def flush(self) -> None:
        if getattr(_capture, "buffer", None) is None:
            self._fallback.flush()


def _route_stdout() -> None:
    # Handlers print to whatever sys.stdout is; something (a test runner) may have replaced our proxy since.
    if not isinstance(sys.stdout, _ThreadRoutedStdout):
        sys.stdout = _ThreadRoutedStdout(sys.stdout)


@dataclass
class LambdaContext:
    """The context object a handler receives, with the attributes Powertools reads."""

    spec: FunctionSpec
    aws_request_id: str
    deadline: float
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = MEMORY_MB

    @property
    def function_name(self) -> str:
        return self.spec.name

    @property
    def invoked_function_arn(self) -> str:
        return self.spec.arn

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.spec.name}"

    @property
    def log_stream_name(self) -> str:
        return log_stream_name()

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def log_stream_name() -> str:
    """One stream per day and worker thread, like one per execution environment on AWS."""
    return time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()) + f"{threading.get_ident() % 10**12:012x}"


@dataclass
class InvocationResult:
    """What an invocation returned: the payload, the FunctionError header (None on success) and its log lines."""

    function: FunctionSpec
    request_id: str
    payload: bytes
    function_error: str | None
    started_at: float
    duration_ms: float
    log_lines: list[str] = field(default_factory=list)


class LocalLambdaRuntime:
    """Hosts the pipeline's handlers and invokes them like the Lambda service does."""

    def __init__(
        self,
        functions: tuple[FunctionSpec, ...],
        on_invocation: Callable[[InvocationResult], None],
        max_concurrency: int = 64,
    ) -> None:
        self._by_name = {spec.name: spec for spec in functions} | {spec.arn: spec for spec in functions}
        self._handlers: dict[str, Callable[[Any, Any], Any]] = {}
        self._import_lock = threading.Lock()
        # On AWS an environment runs one invocation at a time, and handler modules rely on that: Powertools Metrics
        # keeps one metric set per process, which concurrent handlers would flush from under each other. Handlers
        # here are CPU-bound against in-process moto, so one environment costs little throughput under the GIL.
        self._environment = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="lambda")
        self._on_invocation = on_invocation
        _route_stdout()  # before any handler import: Powertools' Logger binds sys.stdout when it is created
        self._server: ThreadingHTTPServer | None = None

    def function(self, name_or_arn: str) -> FunctionSpec | None:
        """The function a name, ARN or ARN with qualifier refers to."""
        name = unquote(name_or_arn)
        return self._by_name.get(name) or self._by_name.get(name.rsplit(":", 1)[0])

    def _handler(self, spec: FunctionSpec) -> Callable[[Any, Any], Any]:
        with self._import_lock:
            if spec.name not in self._handlers:
                module_name, attribute = spec.handler.rsplit(".", 1)
                self._handlers[spec.name] = getattr(importlib.import_module(module_name), attribute)
        return self._handlers[spec.name]

    def warm_up(self) -> None:
        """Import every handler now, so the first order does not pay for it."""
        for spec in set(self._by_name.values()):
            self._handler(spec)

    def invoke(self, spec: FunctionSpec, payload: bytes) -> InvocationResult | None:
        """Run the handler with the JSON payload, enforcing the function timeout; None when throttled."""
        # Waiting for the environment is not billed against the function timeout, as on AWS; waiting too long
        # is a throttle (TooManyRequestsException), which callers retry.
        if not self._environment.acquire(timeout=THROTTLE_AFTER_SECONDS):
            return None
        request_id = str(uuid.uuid4())
        started_at = time.time()
        start = time.monotonic()
        lines: list[str] = []
        future = self._pool.submit(self._run, spec, payload, request_id, start + spec.timeout_seconds, lines)
        try:
            body, function_error = future.result(timeout=spec.timeout_seconds)
        except FutureTimeout:
            # The thread cannot be killed: the environment stays busy until it returns, like a discarded one.
            message = f"Task timed out after {spec.timeout_seconds:.2f} seconds"
            body, function_error = _error_body("Sandbox.Timedout", message), "Unhandled"
            lines.append(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {request_id} {message}\n")
        result = InvocationResult(
            function=spec,
            request_id=request_id,
            payload=body,
            function_error=function_error,
            started_at=started_at,
            duration_ms=(time.monotonic() - start) * 1000,
            log_lines="".join(lines).splitlines(),
        )
        try:
            self._on_invocation(result)
        except Exception:
            _log.exception("recording invocation telemetry failed")
        return result

    def _run(
        self, spec: FunctionSpec, payload: bytes, request_id: str, deadline: float, lines: list[str]
    ) -> tuple[bytes, str | None]:
        _route_stdout()
        _capture.buffer = lines
        try:
            event = json.loads(payload or b"{}")
            output = self._handler(spec)(event, LambdaContext(spec, request_id, deadline))
            return json.dumps(output).encode(), None
        except Exception as exc:
            error_type = type(exc).__name__
            lines.append(json.dumps({"level": "ERROR", "errorType": error_type, "errorMessage": str(exc)}) + "\n")
            body = _error_body(error_type, str(exc), traceback.format_exception(exc))
            return body, "Unhandled"
        finally:
            _capture.buffer = None
            self._environment.release()

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve the Invoke API on a background thread; return its endpoint URL."""
        runtime = self

        class InvokeHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Without this a keep-alive call stalls ~40 ms on Nagle + delayed ACK.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                parts = self.path.split("?")[0].strip("/").split("/")
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                spec = runtime.function(parts[2]) if len(parts) == 4 and parts[3] == "invocations" else None
                if spec is None:
                    message = f"Function not found: {parts[2] if len(parts) > 2 else self.path}"
                    self._send(
                        404,
                        json.dumps({"Type": "User", "Message": message}).encode(),
                        {"x-amzn-ErrorType": "ResourceNotFoundException"},
                    )
                    return
                result = runtime.invoke(spec, body)
                if result is None:
                    message = json.dumps({"Type": "User", "message": "Rate Exceeded."}).encode()
                    self._send(429, message, {"x-amzn-ErrorType": "TooManyRequestsException"})
                    return
                headers = {"X-Amz-Executed-Version": "$LATEST"}
                if result.function_error:
                    headers["X-Amz-Function-Error"] = result.function_error
                self._send(200, result.payload, headers, request_id=result.request_id)

            def _send(self, status: int, body: bytes, headers: dict[str, str], request_id: str | None = None) -> None:
                self.send_response(status)
                # Step Functions reads this header; without it a service error becomes an uncatchable States.Runtime.
                self.send_header("x-amzn-RequestId", request_id or str(uuid.uuid4()))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256  # the default 5 drops connections under a burst of executions

        self._server = Server((host, port), InvokeHandler)
        threading.Thread(target=self._server.serve_forever, name="lambda-invoke-api", daemon=True).start()
        return f"http://{host}:{self._server.server_address[1]}"

    def close(self) -> None:
        """Stop serving and let running invocations finish."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _error_body(error_type: str, message: str, stack: list[str] | None = None) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message, "stackTrace": stack or []}).encode()
