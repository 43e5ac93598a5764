"""Operator numbers: KPIs, throughput and latency from execution records, Lambda metrics from CloudWatch."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel

from backend import aws
from backend.errors import translated
from backend.executions import Outcome, outcome_of
from backend.metrics import MetricQuery, metric_series
from backend.orders import errors_of
from backend.queues import queue_stats
from backend.settings import Home
from backend.stats import percentile

WINDOWS: dict[str, timedelta] = {
    "15 min": timedelta(minutes=15),
    "1 h": timedelta(hours=1),
    "6 h": timedelta(hours=6),
    "24 h": timedelta(hours=24),
}
MAX_RECORDS = 20_000  # executions read per window; beyond it percentiles come from CloudWatch on AWS
MAX_RUNNING = 1_000
SOURCE_RECORDS = "execution records"
SOURCE_CLOUDWATCH = "CloudWatch AWS/States ExecutionTime"
Rag = Literal["green", "amber", "red"]
_ERRORS = {Outcome.FAILED, Outcome.TIMED_OUT}


class ExecutionRecord(BaseModel):
    """One execution reduced to what the numbers need."""

    order_id: str
    status: str
    outcome: Outcome
    started_at: datetime
    stopped_at: datetime | None = None

    @property
    def duration_ms(self) -> float | None:
        return (self.stopped_at - self.started_at).total_seconds() * 1000 if self.stopped_at else None


class WindowRecords(BaseModel):
    """The executions started in [since, until]; complete is False when MAX_RECORDS cut the list."""

    since: datetime
    until: datetime
    records: list[ExecutionRecord]
    complete: bool = True


class Kpis(BaseModel):
    """Counts and rates of the orders whose executions started in a window."""

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
    count: int | None = None


class LatencyReport(BaseModel):
    """Latency over a window and where it came from."""

    source: str
    points: list[LatencyPoint]
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    samples: int | None = None


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
    latency_source: str


# --- pure functions ------------------------------------------------------------------------------


def bucket_seconds(window: timedelta) -> int:
    """The chart bucket for a window: 1 min up to 1 h, 5 min up to 6 h, 15 min beyond."""
    if window <= timedelta(hours=1):
        return 60
    if window <= timedelta(hours=6):
        return 300
    return 900


def bucket_of(at: datetime, seconds: int) -> datetime:
    """The start of the bucket that holds at (UTC)."""
    stamp = int(at.timestamp()) // seconds * seconds
    return datetime.fromtimestamp(stamp, UTC)


def compute_kpis(records: list[ExecutionRecord], running: int) -> Kpis:
    """KPIs of the orders whose executions are in records; running counts all running executions."""
    counts = Counter(record.outcome for record in records)
    return Kpis(
        placed=len(records),
        succeeded=counts[Outcome.SUCCEEDED],
        rejected=counts[Outcome.REJECTED],
        declined=counts[Outcome.DECLINED],
        errored=sum(counts[outcome] for outcome in _ERRORS),
        stopped=counts[Outcome.ABORTED],
        running=running,
    )


def throughput(records: list[ExecutionRecord], seconds: int) -> list[ThroughputPoint]:
    """Finished orders per minute by outcome and bucket (by stop time), oldest first."""
    counts: Counter[tuple[datetime, Outcome]] = Counter(
        (bucket_of(record.stopped_at, seconds), record.outcome) for record in records if record.stopped_at
    )
    return [
        ThroughputPoint(at=at, outcome=outcome, per_minute=count * 60 / seconds)
        for (at, outcome), count in sorted(counts.items())
    ]


def latency_points(records: list[ExecutionRecord], seconds: int) -> list[LatencyPoint]:
    """p50/p90/p99 execution time per bucket (by stop time) of the orders that finished (stopped ones excluded)."""
    buckets: dict[datetime, list[float]] = defaultdict(list)
    for record in records:
        if record.stopped_at and record.outcome is not Outcome.ABORTED:
            buckets[bucket_of(record.stopped_at, seconds)].append(record.duration_ms or 0.0)
    return [
        LatencyPoint(
            at=at,
            p50=percentile(values, 50),
            p90=percentile(values, 90),
            p99=percentile(values, 99),
            count=len(values),
        )
        for at, values in sorted(buckets.items())
    ]


def latency_source(home: Home, complete: bool) -> str:
    """Where latency percentiles come from: execution records when they hold the whole window; else, on AWS,
    CloudWatch's ExecutionTime percentiles (moto has none, so the local AWS always uses the records)."""
    if complete or home is Home.LOCAL:
        return SOURCE_RECORDS
    return SOURCE_CLOUDWATCH


def rag(value: float | None, amber: float, red: float, higher_is_better: bool = False) -> Rag | None:
    """Red/amber/green of a value against its amber and red thresholds (None when there is no value)."""
    if value is None:
        return None
    if higher_is_better:
        return "red" if value < red else "amber" if value < amber else "green"
    return "red" if value >= red else "amber" if value >= amber else "green"


# --- reads ---------------------------------------------------------------------------------------


def _record(item: dict[str, Any], error: str | None) -> ExecutionRecord:
    return ExecutionRecord(
        order_id=item["name"],
        status=item["status"],
        outcome=outcome_of(item["status"], error),
        started_at=item["startDate"],
        stopped_at=item.get("stopDate"),
    )


@translated
def window_records(since: datetime, until: datetime | None = None, cap: int = MAX_RECORDS) -> WindowRecords:
    """The executions started in [since, until], newest first, read through ListExecutions (at most cap)."""
    until = until or datetime.now(UTC)
    sfn = aws.client("stepfunctions")
    kwargs: dict[str, Any] = {"stateMachineArn": aws.resources().state_machine_arn, "maxResults": 1000}
    items: list[dict[str, Any]] = []
    complete = True
    for _ in range(cap // 1000 + 1):  # bounded by the cap
        page = sfn.list_executions(**kwargs)
        batch = page.get("executions", [])
        items.extend(item for item in batch if since <= item["startDate"] <= until)
        if not page.get("nextToken") or (batch and batch[-1]["startDate"] < since):
            break
        if len(items) >= cap:
            complete = False
            break
        kwargs["nextToken"] = page["nextToken"]
    items = items[:cap]
    errors = errors_of(sfn, items)
    records = [_record(item, errors.get(item["executionArn"])) for item in items]
    return WindowRecords(since=since, until=until, records=records, complete=complete)


@translated
def running_count(limit: int = MAX_RUNNING) -> int:
    """How many executions are running now (counted up to limit)."""
    sfn = aws.client("stepfunctions")
    page = sfn.list_executions(
        stateMachineArn=aws.resources().state_machine_arn, statusFilter="RUNNING", maxResults=limit
    )
    return len(page.get("executions", []))


@translated
def kpis(since: datetime, until: datetime | None = None) -> Kpis:
    """KPIs of the orders whose executions started in [since, until], plus what runs now."""
    return compute_kpis(window_records(since, until).records, running_count())


@translated
def latency(window: WindowRecords, seconds: int) -> LatencyReport:
    """Execution time p50/p90/p99 over the window and per bucket, from the source latency_source picks."""
    source = latency_source(aws.connection().home, window.complete)
    if source == SOURCE_RECORDS:
        finished = [r for r in window.records if r.stopped_at and r.outcome is not Outcome.ABORTED]
        durations = [r.duration_ms or 0.0 for r in finished]
        return LatencyReport(
            source=source,
            points=latency_points(window.records, seconds),
            p50=percentile(durations, 50),
            p90=percentile(durations, 90),
            p99=percentile(durations, 99),
            samples=len(durations),
        )
    dimensions = {"StateMachineArn": aws.resources().state_machine_arn}
    stats = ("p50", "p90", "p99")
    per_bucket = metric_series(
        [MetricQuery(s, "AWS/States", "ExecutionTime", dimensions, s) for s in stats],
        window.since,
        window.until,
        seconds,
    )
    whole_seconds = max(60, int((window.until - window.since).total_seconds()) // 60 * 60)
    overall = metric_series(
        [MetricQuery(s, "AWS/States", "ExecutionTime", dimensions, s) for s in stats],
        window.since,
        window.until,
        whole_seconds,
    )
    lookup = {s: dict(per_bucket[s]) for s in stats}
    times = sorted({at for s in stats for at, _ in per_bucket[s]})
    return LatencyReport(
        source=source,
        points=[LatencyPoint(at=at, **{s: lookup[s].get(at) for s in stats}) for at in times],
        **{s: (overall[s][-1][1] if overall[s] else None) for s in stats},
    )


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
    window = window_records(datetime.now(UTC) - timedelta(hours=1))
    numbers = compute_kpis(window.records, running_count())
    report = latency(window, 3600)
    return Overview(
        queue_visible=orders.visible,
        queue_in_flight=orders.in_flight,
        queue_oldest_age_seconds=orders.oldest_age_seconds,
        dlq_depth=dlq.depth if dlq else None,
        running=numbers.running,
        success_rate_1h=numbers.success_rate,
        finished_1h=numbers.finished,
        p90_ms_1h=report.p90,
        latency_source=report.source,
    )
