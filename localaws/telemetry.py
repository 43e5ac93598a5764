"""What AWS records on its own, recorded locally: Lambda logs and metrics, EMF metrics, Step Functions metrics."""

from __future__ import annotations

import functools
import json
import logging
import math
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from localaws.journal import unacknowledged
from localaws.services.awslambda.invocation import InvocationResult

_log = logging.getLogger(__name__)
_METRICS_PER_CALL = 500  # PutMetricData accepts up to 1,000 items per request
_VALUES_PER_DATUM = 150  # and up to 150 distinct values in one datum
_TERMINAL_METRIC = {
    "SUCCEEDED": "ExecutionsSucceeded",
    "FAILED": "ExecutionsFailed",
    "ABORTED": "ExecutionsAborted",
    "TIMED_OUT": "ExecutionsTimedOut",
}

SeriesKey = tuple[str, str, tuple[tuple[str, str], ...], str]  # namespace, metric, dimensions, unit
DeliverLogs = Callable[[str, str, list[dict[str, Any]]], None]  # log group, stream, events in time order
PublishMetrics = Callable[[str, list[dict[str, Any]]], None]  # namespace, PutMetricData's MetricData as moto parses it


@dataclass
class _Series:
    """Samples of one metric within one flush interval, sent as a CloudWatch statistic set."""

    minimum: float = float("inf")
    maximum: float = float("-inf")
    total: float = 0.0
    count: int = 0

    def add(self, value: float) -> None:
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)
        self.total += value
        self.count += 1


@dataclass
class _Buffer:
    series: dict[tuple[SeriesKey, int], _Series] = field(default_factory=lambda: defaultdict(_Series))
    distributions: dict[tuple[SeriesKey, int], Counter[float]] = field(default_factory=lambda: defaultdict(Counter))
    logs: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))


def _naive_utc(epoch_seconds: float) -> datetime:
    """A moment as moto's request parser gives a timestamp: UTC without a time zone."""
    return datetime.fromtimestamp(epoch_seconds, UTC).replace(tzinfo=None)


def _two_significant_digits(value: float) -> float:
    """A value rounded as a histogram bucket: 1234 -> 1200, 87.6 -> 88 (percentiles within 5%)."""
    if value <= 0:
        return 0.0
    return round(value, 1 - math.floor(math.log10(value)))


class Telemetry:
    """Buffers log events and metric samples and flushes them to CloudWatch (Logs) every interval."""

    def __init__(
        self, deliver_logs: DeliverLogs, publish_metrics: PublishMetrics, interval_seconds: float = 5.0
    ) -> None:
        self._deliver_logs = deliver_logs
        self._publish_metrics = publish_metrics
        self._interval = interval_seconds
        self._lock = threading.Lock()
        self._buffer = _Buffer()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def in_process(cls, account_id: str, region: str) -> Telemetry:
        """Telemetry that stores into moto's Logs and CloudWatch in this process, as AWS's own delivery does."""
        from localaws.services.cloudwatch.metrics import publish
        from localaws.services.logs.delivery import deliver

        return cls(functools.partial(deliver, account_id, region), functools.partial(publish, account_id, region))

    def metric(self, namespace: str, name: str, value: float, unit: str, dimensions: dict[str, str], at: float) -> None:
        """Add one sample; a series' samples within a minute and a flush interval become one statistic set."""
        key = (namespace, name, tuple(sorted(dimensions.items())), unit)
        with self._lock:
            # CloudWatch keeps standard-resolution metrics per minute; moto scans every stored datum per query.
            self._buffer.series[(key, int(at) // 60 * 60)].add(value)

    def record_invocation(self, result: InvocationResult) -> None:
        """The invocation's log lines framed as Lambda frames them, its AWS/Lambda metrics and its EMF metrics."""
        function = result.function
        millis = int(result.started_at * 1000)
        events = [{"timestamp": millis, "message": line} for line in result.framed_log_lines()]
        dimensions = {"FunctionName": function.name}
        with self._lock:
            self._buffer.logs[(function.log_group, result.log_stream)].extend(events)
        self.metric("AWS/Lambda", "Invocations", 1, "Count", dimensions, result.started_at)
        self.metric("AWS/Lambda", "Errors", 1 if result.function_error else 0, "Count", dimensions, result.started_at)
        self.metric("AWS/Lambda", "Duration", result.duration_ms, "Milliseconds", dimensions, result.started_at)
        for line in result.log_lines:
            self._record_emf(line, result.started_at)

    def record_throttle(self, function_name: str, at: float) -> None:
        """AWS/Lambda Throttles for one refused invocation."""
        self.metric("AWS/Lambda", "Throttles", 1, "Count", {"FunctionName": function_name}, at)

    def _record_emf(self, line: str, at: float) -> None:
        if '"_aws"' not in line:
            return
        try:
            document = json.loads(line)
            directives = document["_aws"]["CloudWatchMetrics"]
        except (ValueError, KeyError, TypeError):
            return
        timestamp = document["_aws"].get("Timestamp", at * 1000) / 1000
        for directive in directives:
            for dimension_set in directive.get("Dimensions") or [[]]:
                dimensions = {name: str(document.get(name, "")) for name in dimension_set}
                for definition in directive.get("Metrics", []):
                    values = document.get(definition["Name"])
                    for value in values if isinstance(values, list) else [values]:
                        if isinstance(value, int | float):
                            unit = definition.get("Unit", "None")
                            self.metric(directive["Namespace"], definition["Name"], value, unit, dimensions, timestamp)

    def record_execution_started(self, state_machine_arn: str, at: float) -> None:
        """AWS/States ExecutionsStarted for one execution."""
        self.metric("AWS/States", "ExecutionsStarted", 1, "Count", {"StateMachineArn": state_machine_arn}, at)

    def record_execution_finished(self, state_machine_arn: str, status: str, started: float, stopped: float) -> None:
        """AWS/States outcome count and ExecutionTime for one finished execution."""
        dimensions = {"StateMachineArn": state_machine_arn}
        if status in _TERMINAL_METRIC:
            self.metric("AWS/States", _TERMINAL_METRIC[status], 1, "Count", dimensions, stopped)
        # As values with counts (not a statistic set), so CloudWatch can answer percentiles.
        key = ("AWS/States", "ExecutionTime", tuple(sorted(dimensions.items())), "Milliseconds")
        with self._lock:
            self._buffer.distributions[(key, int(stopped) // 60 * 60)][
                _two_significant_digits((stopped - started) * 1000)
            ] += 1

    def start(self) -> None:
        """Flush on a background thread until stop()."""
        self._thread = threading.Thread(target=self._run, name="telemetry-flush", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the flush thread after one last flush."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.flush()
            except Exception:
                _log.exception("telemetry flush failed")

    def flush(self) -> None:
        """Send what was buffered."""
        with self._lock:
            buffer, self._buffer = self._buffer, _Buffer()
        # Journaled in the writer's next batch: no client waits for these, so they do not wait for the disk.
        with unacknowledged():
            self._flush_metrics(buffer.series, buffer.distributions)
            for (group, stream), events in buffer.logs.items():
                events.sort(key=lambda event: event["timestamp"])
                self._deliver_logs(group, stream, events)

    def _flush_metrics(
        self, series: dict[tuple[SeriesKey, int], _Series], distributions: dict[tuple[SeriesKey, int], Counter[float]]
    ) -> None:
        by_namespace: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for ((namespace, name, dimensions, unit), minute), counts in distributions.items():
            pairs = sorted(counts.items())
            for start in range(0, len(pairs), _VALUES_PER_DATUM):
                chunk = pairs[start : start + _VALUES_PER_DATUM]
                by_namespace[namespace].append(
                    {
                        "MetricName": name,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions],
                        "Timestamp": _naive_utc(minute),
                        "Values": [value for value, _ in chunk],
                        "Counts": [float(count) for _, count in chunk],
                        "Unit": unit,
                    }
                )
        for ((namespace, name, dimensions, unit), minute), stats in series.items():
            by_namespace[namespace].append(
                {
                    "MetricName": name,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions],
                    "Timestamp": _naive_utc(minute),
                    "StatisticValues": {
                        "SampleCount": float(stats.count),
                        "Sum": stats.total,
                        "Minimum": stats.minimum,
                        "Maximum": stats.maximum,
                    },
                    "Unit": unit,
                }
            )
        for namespace, data in by_namespace.items():
            for start in range(0, len(data), _METRICS_PER_CALL):
                self._publish_metrics(namespace, data[start : start + _METRICS_PER_CALL])
