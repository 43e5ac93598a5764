"""Per-function figures over a window: invocations, cold starts, init and run duration, billed duration and memory
from the functions' platform.report records (Logs Insights), errors and throttles from AWS/Lambda (throttled
invocations never run, so they leave no report).

The stack's functions log in Lambda's JSON format: each invocation's report is one record
{"type": "platform.report", "record": {"metrics": {"durationMs", "billedDurationMs", "memorySizeMB",
"maxMemoryUsedMB", "initDurationMs" (cold starts only)}}}, whose keys Insights discovers as dotted fields.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, computed_field, field_validator, model_validator

from backend import aws, insights
from backend.errors import translated
from backend.metrics import MetricQuery, metric_series
from backend.monitoring import minute_floor
from backend.order_logs import log_group

SOURCE = "CloudWatch Logs Insights over the functions' platform.report records; AWS/Lambda Errors and Throttles"
_REPORT_STATS = (
    'filter type = "platform.report"\n'
    "| stats count(*) as invocations, count(record.metrics.initDurationMs) as cold_starts,\n"
    "  avg(record.metrics.initDurationMs) as init_avg_ms, max(record.metrics.initDurationMs) as init_max_ms,\n"
    "  pct(record.metrics.durationMs, 50) as p50_ms, pct(record.metrics.durationMs, 99) as p99_ms,\n"
    "  sum(record.metrics.billedDurationMs) as billed_ms,\n"
    "  max(record.metrics.maxMemoryUsedMB) as max_memory_used_mb, max(record.metrics.memorySizeMB) as memory_size_mb"
)


def report_query(bucket_seconds: int | None = None) -> str:
    """The Insights query of the reports' figures: over the whole window, or per bucket (bin) of bucket_seconds."""
    if bucket_seconds is None:
        return _REPORT_STATS
    return f"{_REPORT_STATS}\n  by bin({bucket_seconds // 60}m)"


def _count(value: Any) -> int:
    """Insights writes numbers as text, a sum of whole numbers possibly as 12.0."""
    return round(float(value))


Count = Annotated[int, BeforeValidator(_count)]


class ReportRow(BaseModel):
    """One row of report_query: the reports of one function in the window or in one bucket (at)."""

    model_config = ConfigDict(extra="ignore")

    at: datetime | None = None
    invocations: Count = 0
    cold_starts: Count = 0
    init_avg_ms: float | None = None
    init_max_ms: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    billed_ms: Count = 0
    max_memory_used_mb: float | None = None
    memory_size_mb: Count | None = None

    @model_validator(mode="before")
    @classmethod
    def _bin_is_at(cls, data: Any) -> Any:
        # The bucket comes back under the expression's own text, "bin(1m)".
        if isinstance(data, dict):
            data = dict(data)
            for key in [key for key in data if key.startswith("bin(")]:
                data["at"] = data.pop(key)
        return data

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # Insights writes times in UTC without a zone: "2024-05-01 12:00:00.000".
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class FunctionFigures(BaseModel):
    """One function's figures over a window, and its reports per bucket (points, oldest first)."""

    role: str  # the stack's name for it: start_order, validate_order, ...
    name: str
    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    cold_starts: int = 0
    init_avg_ms: float | None = None
    init_max_ms: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    billed_ms: int = 0
    max_memory_used_mb: float | None = None
    memory_size_mb: int | None = None
    points: list[ReportRow] = []

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cold_start_share(self) -> float | None:
        """Cold starts / invocations."""
        return self.cold_starts / self.invocations if self.invocations else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def billed_avg_ms(self) -> float | None:
        return self.billed_ms / self.invocations if self.invocations else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def gb_seconds(self) -> Decimal:
        """Billed duration x memory configured, as Lambda bills compute (GB = MB / 1024)."""
        return gb_seconds(self.billed_ms, self.memory_size_mb or 0)


class FunctionsReport(BaseModel):
    """Every function of the stack over [since, until], in buckets of bucket_seconds."""

    since: datetime
    until: datetime
    bucket_seconds: int
    functions: list[FunctionFigures]


# --- pure functions ------------------------------------------------------------------------------


def gb_seconds(billed_ms: int, memory_mb: int) -> Decimal:
    """Lambda compute in GB-seconds: billed milliseconds x configured MB, exactly."""
    return Decimal(billed_ms) * Decimal(memory_mb) / Decimal(1000 * 1024)


def figures(
    role: str, name: str, window: list[ReportRow], buckets: list[ReportRow], errors: float, throttles: float
) -> FunctionFigures:
    """One function's figures from its whole-window row (none when it had no report), its bucket rows and its
    AWS/Lambda counts."""
    total = window[0] if window else ReportRow()
    fields = total.model_dump(exclude={"at"})
    points = sorted((row for row in buckets if row.at is not None), key=lambda row: row.at)  # type: ignore[arg-type,return-value]
    return FunctionFigures(role=role, name=name, errors=round(errors), throttles=round(throttles), points=points,
                           **fields)  # fmt: skip


# --- reads ---------------------------------------------------------------------------------------


@translated
def functions_report(since: datetime, until: datetime, bucket_seconds: int) -> FunctionsReport:
    """The figures of every function of the stack over [since, until]: two Insights queries per function (the window,
    and per bucket) run side by side, and one GetMetricData call."""
    since = minute_floor(since)
    named = sorted(aws.resources().function_names.items())
    jobs = [(name, query) for _, name in named for query in (report_query(), report_query(bucket_seconds))]
    with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
        answers = list(pool.map(lambda job: insights.run_query(log_group(job[0]), job[1], since, until), jobs))
    whole = max(60, -(-int((until - since).total_seconds()) // 60) * 60)
    queries = []
    for index, (_, name) in enumerate(named):
        dimensions = {"FunctionName": name}
        queries += [
            MetricQuery(f"e{index}", "AWS/Lambda", "Errors", dimensions, "Sum", whole),
            MetricQuery(f"t{index}", "AWS/Lambda", "Throttles", dimensions, "Sum", whole),
        ]
    series = metric_series(queries, since, until, bucket_seconds) if queries else {}
    result = []
    for index, (role, name) in enumerate(named):
        window = insights.typed_rows(answers[2 * index], ReportRow)
        buckets = insights.typed_rows(answers[2 * index + 1], ReportRow)
        errors = sum(value for _, value in series.get(f"e{index}", []))
        throttles = sum(value for _, value in series.get(f"t{index}", []))
        result.append(figures(role, name, window, buckets, errors, throttles))
    return FunctionsReport(since=since, until=until, bucket_seconds=bucket_seconds, functions=result)
