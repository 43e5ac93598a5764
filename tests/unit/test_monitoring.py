"""Pure operator arithmetic: KPIs and rates, buckets, percentiles per bucket, latency source, thresholds, filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.executions import Outcome
from backend.monitoring import (
    SOURCE_CLOUDWATCH,
    SOURCE_RECORDS,
    ExecutionRecord,
    bucket_seconds,
    compute_kpis,
    latency_points,
    latency_source,
    rag,
    throughput,
)
from backend.operations import ExecutionFilter
from backend.settings import Home

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def record(outcome: Outcome, start_s: float = 0, took_ms: float | None = 100) -> ExecutionRecord:
    started = T0 + timedelta(seconds=start_s)
    status = outcome.value if outcome in {Outcome.SUCCEEDED, Outcome.RUNNING, Outcome.ABORTED} else "FAILED"
    stopped = started + timedelta(milliseconds=took_ms) if took_ms is not None else None
    return ExecutionRecord(
        order_id=f"ord_{start_s}", status=status, outcome=outcome, started_at=started, stopped_at=stopped
    )


def test_kpis_count_each_outcome_and_rates_follow_their_definitions() -> None:
    records = (
        [record(Outcome.SUCCEEDED)] * 40
        + [record(Outcome.REJECTED)] * 5
        + [record(Outcome.DECLINED)] * 5
        + [record(Outcome.FAILED)] * 2
        + [record(Outcome.ABORTED)]
        + [record(Outcome.RUNNING, took_ms=None)] * 3
    )
    kpis = compute_kpis(records, running=7)
    assert (kpis.placed, kpis.succeeded, kpis.rejected, kpis.declined, kpis.errored, kpis.stopped) == (
        56,
        40,
        5,
        5,
        2,
        1,
    )
    assert kpis.running == 7
    assert kpis.finished == 53
    assert kpis.success_rate == pytest.approx(40 / 53)
    assert kpis.decline_rate == pytest.approx(5 / 45)


def test_rates_are_none_before_anything_finished() -> None:
    kpis = compute_kpis([record(Outcome.RUNNING, took_ms=None)], running=1)
    assert kpis.success_rate is None
    assert kpis.decline_rate is None


def test_throughput_is_per_minute_by_stop_bucket_and_outcome() -> None:
    records = [record(Outcome.SUCCEEDED, s) for s in (0, 10, 70)] + [record(Outcome.DECLINED, 20)]
    points = {(p.at, p.outcome): p.per_minute for p in throughput(records, 60)}
    assert points == {
        (T0, Outcome.SUCCEEDED): 2,
        (T0, Outcome.DECLINED): 1,
        (T0 + timedelta(minutes=1), Outcome.SUCCEEDED): 1,
    }
    five_minutes = throughput(records, 300)
    assert sum(p.per_minute for p in five_minutes) == pytest.approx(4 / 5)


def test_latency_points_are_nearest_rank_percentiles_per_bucket_without_stopped_runs() -> None:
    records = [record(Outcome.SUCCEEDED, 1, took_ms=ms) for ms in range(1, 101)]
    records.append(record(Outcome.ABORTED, 2, took_ms=50_000))
    records.append(record(Outcome.RUNNING, 3, took_ms=None))
    [point] = latency_points(records, 60)
    assert (point.p50, point.p90, point.p99, point.count) == (50, 90, 99, 100)


@pytest.mark.parametrize(
    ("home", "complete", "source"),
    [
        (Home.LOCAL, True, SOURCE_RECORDS),
        (Home.LOCAL, False, SOURCE_RECORDS),  # moto has no percentiles: records even when capped
        (Home.AWS, True, SOURCE_RECORDS),
        (Home.AWS, False, SOURCE_CLOUDWATCH),
    ],
)
def test_latency_source(home: Home, complete: bool, source: str) -> None:
    assert latency_source(home, complete) == source


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
