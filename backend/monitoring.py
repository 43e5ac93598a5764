"""Operator numbers from CloudWatch on both homes: counts and rates (AWS/States and the pipeline's EMF metrics),
execution-time percentiles (AWS/States ExecutionTime) and per-Lambda metrics (AWS/Lambda).

Every read costs a few GetMetricData queries, whatever the number of executions behind it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel

from backend import aws
from backend.errors import translated
from backend.executions import Outcome
from backend.metrics import MetricQuery, metric_series
from backend.queues import queue_stats

WINDOWS: dict[str, timedelta] = {
    "15 min": timedelta(minutes=15),
    "1 h": timedelta(hours=1),
    "6 h": timedelta(hours=6),
    "24 h": timedelta(hours=24),
}
MAX_RUNNING = 1_000
# What the functions publish through Powertools Metrics (the template's POWERTOOLS_* settings).
APP_NAMESPACE = "OrderPipeline"
APP_DIMENSIONS = {"service": "order-pipeline"}
SOURCE = "CloudWatch: AWS/States executions and ExecutionTime, OrderPipeline OrdersRejected and PaymentsDeclined"
Rag = Literal["green", "amber", "red"]
# Query id -> (namespace, metric); the AWS/States ones by state machine, the others by the app's dimensions.
_COUNTS = {
    "started": ("AWS/States", "ExecutionsStarted"),
    "succeeded": ("AWS/States", "ExecutionsSucceeded"),
    "failed": ("AWS/States", "ExecutionsFailed"),
    "aborted": ("AWS/States", "ExecutionsAborted"),
    "timed_out": ("AWS/States", "ExecutionsTimedOut"),
    "rejected": (APP_NAMESPACE, "OrdersRejected"),
    "declined": (APP_NAMESPACE, "PaymentsDeclined"),
}
_PERCENTILES = ("p50", "p90", "p99")
Series = dict[str, list[tuple[datetime, float]]]


class Kpis(BaseModel):
    """A window's counts: orders placed (executions started), orders finished by outcome, and what runs now."""

    placed: int = 0
    succeeded: int = 0
    rejected: int = 0
    declined: int = 0
    errored: int = 0
    stopped: int = 0
    running: int = 0

    @property
    def finished(self) -> int:
        return self.succeeded + self.rejected + self.declined + self.errored + self.stopped

    @property
    def success_rate(self) -> float | None:
        """Succeeded / finished, or None before anything finished."""
        return self.succeeded / self.finished if self.finished else None

    @property
    def decline_rate(self) -> float | None:
        """Declined / payments the gateway answered (succeeded + declined)."""
        answered = self.succeeded + self.declined
        return self.declined / answered if answered else None


class ThroughputPoint(BaseModel):
    """Orders finished per minute in one bucket, for one outcome."""

    at: datetime
    outcome: Outcome
    per_minute: float


class LatencyPoint(BaseModel):
    """Execution time percentiles (ms) of the executions that finished in one bucket."""

    at: datetime
    p50: float | None
    p90: float | None
    p99: float | None


class LatencyReport(BaseModel):
    """Execution time over a window: per bucket and overall; samples is how many executions finished."""

    points: list[LatencyPoint]
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    samples: int = 0


class WindowReport(BaseModel):
    """A window's counts, throughput and latency."""

    since: datetime
    until: datetime
    kpis: Kpis
    throughput: list[ThroughputPoint]
    latency: LatencyReport


class LambdaSeries(BaseModel):
    """One function's AWS/Lambda metrics per period (source: CloudWatch)."""

    function: str
    timestamps: list[datetime]
    invocations: list[float]
    errors: list[float]
    duration_avg_ms: list[float | None]
    duration_max_ms: list[float | None]


class Overview(BaseModel):
    """The numbers an operator checks first."""

    queue_visible: int
    queue_in_flight: int
    queue_oldest_age_seconds: float | None
    dlq_depth: int | None
    running: int
    success_rate_1h: float | None
    finished_1h: int
    p90_ms_1h: float | None


# --- pure functions ------------------------------------------------------------------------------


def bucket_seconds(window: timedelta) -> int:
    """The chart bucket for a window: 1 min up to 1 h, 5 min up to 6 h, 15 min beyond."""
    if window <= timedelta(hours=1):
        return 60
    if window <= timedelta(hours=6):
        return 300
    return 900


def minute_floor(at: datetime) -> datetime:
    """The start of at's minute: metrics are kept per minute, so a window starts on one."""
    return at.replace(second=0, microsecond=0)


def _per_bucket(series: Series, key: str) -> dict[datetime, float]:
    return dict(series.get(key, []))


def build_report(series: Series, since: datetime, until: datetime, seconds: int, running: int) -> WindowReport:
    """A window report from the metric series read for it (see window_report for the query ids)."""
    counts = {key: _per_bucket(series, key) for key in _COUNTS}
    buckets = sorted(set().union(*(set(values) for values in counts.values())))
    by_outcome: dict[Outcome, dict[datetime, float]] = {outcome: {} for outcome in Outcome}
    for at in buckets:
        value = {key: counts[key].get(at, 0.0) for key in _COUNTS}
        # Rejected and declined orders end in Fail states too: what is left of the failures is technical.
        technical = max(0.0, value["failed"] - value["rejected"] - value["declined"]) + value["timed_out"]
        for outcome, count in (
            (Outcome.SUCCEEDED, value["succeeded"]),
            (Outcome.REJECTED, value["rejected"]),
            (Outcome.DECLINED, value["declined"]),
            (Outcome.FAILED, technical),
            (Outcome.ABORTED, value["aborted"]),
        ):
            if count:
                by_outcome[outcome][at] = count
    total = {outcome: round(sum(values.values())) for outcome, values in by_outcome.items()}
    kpis = Kpis(
        placed=round(sum(counts["started"].values())),
        succeeded=total[Outcome.SUCCEEDED],
        rejected=total[Outcome.REJECTED],
        declined=total[Outcome.DECLINED],
        errored=total[Outcome.FAILED],
        stopped=total[Outcome.ABORTED],
        running=running,
    )
    throughput = [
        ThroughputPoint(at=at, outcome=outcome, per_minute=count * 60 / seconds)
        for outcome, values in by_outcome.items()
        for at, count in sorted(values.items())
    ]
    percentiles = {p: _per_bucket(series, p) for p in _PERCENTILES}
    times = sorted(set().union(*(set(values) for values in percentiles.values())))
    overall = {p: (series.get(f"all_{p}") or [(since, None)])[-1][1] for p in _PERCENTILES}
    samples = int(sum(value for _, value in series.get("all_samples", [])))
    latency = LatencyReport(
        points=[LatencyPoint(at=at, **{p: percentiles[p].get(at) for p in _PERCENTILES}) for at in times],
        samples=samples,
        **overall,
    )
    return WindowReport(since=since, until=until, kpis=kpis, throughput=sorted(throughput, key=lambda p: p.at),
                        latency=latency)  # fmt: skip


def rag(value: float | None, amber: float, red: float, higher_is_better: bool = False) -> Rag | None:
    """Red/amber/green of a value against its amber and red thresholds (None when there is no value)."""
    if value is None:
        return None
    if higher_is_better:
        return "red" if value < red else "amber" if value < amber else "green"
    return "red" if value >= red else "amber" if value >= amber else "green"


# --- reads ---------------------------------------------------------------------------------------


@translated
def running_count(limit: int = MAX_RUNNING) -> int:
    """How many executions are running now (counted up to limit)."""
    sfn = aws.client("stepfunctions")
    page = sfn.list_executions(
        stateMachineArn=aws.resources().state_machine_arn, statusFilter="RUNNING", maxResults=limit
    )
    return len(page.get("executions", []))


@translated
def window_report(since: datetime, until: datetime | None = None, seconds: int = 60) -> WindowReport:
    """Counts, throughput and latency of [since, until] (from the start of since's minute), in buckets of seconds:
    one GetMetricData call, plus the running count."""
    since, until = minute_floor(since), until or datetime.now(UTC) + timedelta(minutes=1)
    machine = {"StateMachineArn": aws.resources().state_machine_arn}
    whole = max(60, -(-int((until - since).total_seconds()) // 60) * 60)
    queries = [
        MetricQuery(key, namespace, name, machine if namespace == "AWS/States" else APP_DIMENSIONS, "Sum")
        for key, (namespace, name) in _COUNTS.items()
    ]
    queries += [MetricQuery(p, "AWS/States", "ExecutionTime", machine, p) for p in _PERCENTILES]
    queries += [MetricQuery(f"all_{p}", "AWS/States", "ExecutionTime", machine, p, whole) for p in _PERCENTILES]
    queries.append(MetricQuery("all_samples", "AWS/States", "ExecutionTime", machine, "SampleCount", whole))
    series = metric_series(queries, since, until, seconds)
    return build_report(series, since, until, seconds, running_count())


@translated
def lambda_metrics(since: datetime, until: datetime, seconds: int) -> list[LambdaSeries]:
    """Invocations, errors and duration (average, maximum) per function and period (CloudWatch AWS/Lambda)."""
    functions = sorted(aws.resources().function_names.values())
    queries = []
    for index, function in enumerate(functions):
        dimensions = {"FunctionName": function}
        queries += [
            MetricQuery(f"i{index}", "AWS/Lambda", "Invocations", dimensions, "Sum"),
            MetricQuery(f"e{index}", "AWS/Lambda", "Errors", dimensions, "Sum"),
            MetricQuery(f"d{index}", "AWS/Lambda", "Duration", dimensions, "Average"),
            MetricQuery(f"m{index}", "AWS/Lambda", "Duration", dimensions, "Maximum"),
        ]
    series = metric_series(queries, since, until, seconds) if queries else {}
    result = []
    for index, function in enumerate(functions):
        lookup = {kind: dict(series[f"{kind}{index}"]) for kind in "iedm"}
        times = sorted(set(lookup["i"]) | set(lookup["e"]) | set(lookup["d"]))
        result.append(
            LambdaSeries(
                function=function,
                timestamps=times,
                invocations=[lookup["i"].get(at, 0.0) for at in times],
                errors=[lookup["e"].get(at, 0.0) for at in times],
                duration_avg_ms=[lookup["d"].get(at) for at in times],
                duration_max_ms=[lookup["m"].get(at) for at in times],
            )
        )
    return result


@translated
def overview() -> Overview:
    """Queue and DLQ depth, running executions, success rate and p90 latency of the last hour."""
    orders = queue_stats("orders")
    dlq = queue_stats("dlq") if aws.resources().dead_letter_queue_url else None
    report = window_report(datetime.now(UTC) - timedelta(hours=1), seconds=3600)
    return Overview(
        queue_visible=orders.visible,
        queue_in_flight=orders.in_flight,
        queue_oldest_age_seconds=orders.oldest_age_seconds,
        dlq_depth=dlq.depth if dlq else None,
        running=report.kpis.running,
        success_rate_1h=report.kpis.success_rate,
        finished_1h=report.kpis.finished,
        p90_ms_1h=report.latency.p90,
    )
