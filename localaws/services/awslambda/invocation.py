"""How one invocation ended, and the log lines Lambda writes around what the function printed."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from localaws.services.awslambda.functions import FunctionConfig


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
