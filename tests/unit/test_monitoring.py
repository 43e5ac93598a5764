"""Pure operator arithmetic: a window report from metric series, rates, buckets, thresholds, filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backend.executions import Outcome
from backend.monitoring import bucket_seconds, build_report, minute_floor, rag
from backend.operations import ExecutionFilter

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)


def report(series: dict[str, list[tuple[datetime, float]]], seconds: int = 60, running: int = 0) -> Any:
    return build_report(series, T0, T0 + timedelta(hours=1), seconds, running)


def test_counts_split_failures_into_rejections_declines_and_technical_errors() -> None:
    series = {
        "started": [(T0, 50.0), (T1, 6.0)],
        "succeeded": [(T0, 30.0), (T1, 10.0)],
        "failed": [(T0, 8.0), (T1, 4.0)],  # 5 rejected, 5 declined, 2 technical
        "rejected": [(T0, 4.0), (T1, 1.0)],
        "declined": [(T0, 3.0), (T1, 2.0)],
        "aborted": [(T1, 1.0)],
    }
    kpis = report(series, running=7).kpis
    assert (kpis.placed, kpis.succeeded, kpis.rejected, kpis.declined, kpis.errored, kpis.stopped) == (
        56, 40, 5, 5, 2, 1,
    )  # fmt: skip
    assert (kpis.running, kpis.finished) == (7, 53)
    assert kpis.success_rate == pytest.approx(40 / 53)
    assert kpis.decline_rate == pytest.approx(5 / 45)


def test_timeouts_are_technical_errors_and_failures_never_count_below_zero() -> None:
    # EMF and AWS/States data points of one minute can land in different buckets: never a negative count.
    series = {"failed": [(T0, 1.0)], "rejected": [(T0, 2.0)], "timed_out": [(T1, 1.0)]}
    kpis = report(series).kpis
    assert (kpis.rejected, kpis.errored) == (2, 1)


def test_rates_are_none_before_anything_finished() -> None:
    kpis = report({"started": [(T0, 1.0)]}, running=1).kpis
    assert kpis.success_rate is None
    assert kpis.decline_rate is None


def test_throughput_is_per_minute_by_bucket_and_outcome() -> None:
    series = {"succeeded": [(T0, 2.0), (T1, 1.0)], "declined": [(T0, 1.0)], "failed": [(T0, 1.0)]}
    points = {(p.at, p.outcome): p.per_minute for p in report(series).throughput}
    assert points == {(T0, Outcome.SUCCEEDED): 2, (T0, Outcome.DECLINED): 1, (T1, Outcome.SUCCEEDED): 1}
    five_minutes = report({"succeeded": [(T0, 4.0)]}, seconds=300).throughput
    assert [p.per_minute for p in five_minutes] == [pytest.approx(4 / 5)]


def test_latency_has_points_per_bucket_and_the_whole_windows_percentiles() -> None:
    series = {
        "p50": [(T0, 40.0), (T1, 60.0)],
        "p90": [(T0, 90.0)],
        "p99": [(T0, 99.0)],
        "all_p50": [(T0, 50.0)],
        "all_p90": [(T0, 91.0)],
        "all_p99": [(T0, 120.0)],
        "all_samples": [(T0, 100.0)],
    }
    latency = report(series).latency
    assert [(p.at, p.p50, p.p90, p.p99) for p in latency.points] == [(T0, 40, 90, 99), (T1, 60, None, None)]
    assert (latency.p50, latency.p90, latency.p99, latency.samples) == (50, 91, 120, 100)
    empty = report({}).latency
    assert (empty.points, empty.p90, empty.samples) == ([], None, 0)


def test_a_window_starts_on_a_minute() -> None:
    assert minute_floor(T0 + timedelta(seconds=59, microseconds=5)) == T0


def test_rag_thresholds_both_directions() -> None:
    assert [rag(v, 100, 1000) for v in (0, 99, 100, 999, 1000)] == ["green", "green", "amber", "amber", "red"]
    assert [rag(v, 0.85, 0.7, higher_is_better=True) for v in (0.9, 0.85, 0.8, 0.69)] == [
        "green",
        "green",
        "amber",
        "red",
    ]
    assert rag(1, 1, 1) == "red"  # DLQ: any message is red
    assert rag(None, 1, 2) is None


def test_bucket_seconds_grow_with_the_window() -> None:
    assert [bucket_seconds(timedelta(minutes=m)) for m in (15, 60, 360, 1440)] == [60, 60, 300, 900]


def test_execution_filter_window_and_status() -> None:
    filters = ExecutionFilter(status="FAILED", since=T0, until=T0 + timedelta(hours=1))
    assert filters.keeps("FAILED", T0 + timedelta(minutes=5))
    assert not filters.keeps("SUCCEEDED", T0 + timedelta(minutes=5))
    assert not filters.keeps("FAILED", T0 - timedelta(seconds=1))
    assert not filters.keeps("FAILED", T0 + timedelta(hours=2))
    assert filters.past_window(T0 - timedelta(seconds=1))
    assert not filters.past_window(T0)
    assert not ExecutionFilter().past_window(T0)
