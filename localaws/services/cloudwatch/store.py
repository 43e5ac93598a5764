"""A backend's datapoints as the local CloudWatch keeps them: indexed by series and time, merged where a series, unit
and time already has one (moto appends every datum to one list, and scans it all for each query)."""

from __future__ import annotations

import datetime
import functools
import math
import threading
from typing import Any

SeriesKey = tuple[str, str, frozenset[tuple[str, str]]]  # namespace, name, dimensions

# CloudWatchBackend.put_metric_alarm's parameters in moto 5.2.5: what the corrections that wrap it expect.
PUT_METRIC_ALARM_PARAMETERS = [
    "self", "name", "namespace", "metric_name", "comparison_operator", "evaluation_periods", "period", "threshold",
    "statistic", "description", "dimensions", "alarm_actions", "metric_data_queries", "datapoints_to_alarm",
    "extended_statistic", "ok_actions", "insufficient_data_actions", "unit", "actions_enabled", "treat_missing_data",
    "evaluate_low_sample_count_percentile", "threshold_metric_id", "rule", "tags",
]  # fmt: skip


def epoch(moment: datetime.datetime) -> float:
    """Unix time of a datetime (naive: UTC, as moto's request parser and clock make them)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)).timestamp()


def iso(at: datetime.datetime) -> str:
    """A time as CloudWatch writes it in alarm messages and documents (naive: UTC): 2026-11-26T23:10:00.000+0000."""
    at = at if at.tzinfo else at.replace(tzinfo=datetime.UTC)
    return at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"


def series_key(datum: Any) -> SeriesKey:
    """The series a moto datum belongs to."""
    return datum.namespace, datum.name, frozenset((d.name, d.value) for d in datum.dimensions)


@functools.cache
def statistic_set_class() -> type:
    """moto's statistic set (MetricAggregatedDatum)."""
    from moto.cloudwatch.models import MetricAggregatedDatum

    return MetricAggregatedDatum


@functools.cache
def weighted_datum_class() -> type:
    """One value of a Values/Counts datum, with its count: a statistic set to moto, a distribution to us."""
    from moto.cloudwatch.models import MetricAggregatedDatum

    class WeightedDatum(MetricAggregatedDatum):  # type: ignore[misc]
        """One value of a Values/Counts datum, with its count."""

        def __init__(self, namespace: str, name: str, value: float, count: float, dimensions: Any, timestamp: Any,
                     unit: Any) -> None:  # fmt: skip
            super().__init__(namespace, name, value, value, count, value * count, dimensions, timestamp, unit)
            self.value, self.count = value, count

    return WeightedDatum


class MetricStore(list[Any]):
    """moto's list of a backend's datapoints, indexed by series and time. A statistic set, or a value with counts,
    for a series, unit and time already held is merged into the one held: the telemetry sends each active series
    every 5 s for the current minute, and each query and each alarm scanned every datapoint kept (24 hours)."""

    def __init__(self, data: Any = ()) -> None:
        super().__init__()
        self.lock = threading.Lock()  # held while datapoints are read: a merge changes a datapoint in place
        self._series: dict[SeriesKey, dict[float, list[Any]]] = {}
        self._merged: dict[tuple[Any, ...], Any] = {}
        self._oldest = math.inf
        for datum in data:
            self.append(datum)

    def append(self, datum: Any) -> None:
        key, at = series_key(datum), epoch(datum.timestamp)
        merge_key = self._merge_key(datum, key, at)
        with self.lock:
            held = self._merged.get(merge_key) if merge_key else None
            if held is not None:
                _merge(held, datum)
                return
            self._add(datum, key, at, merge_key)
            super().append(datum)

    def _add(self, datum: Any, key: SeriesKey, at: float, merge_key: tuple[Any, ...] | None) -> None:
        if merge_key:
            self._merged[merge_key] = datum
        self._series.setdefault(key, {}).setdefault(at, []).append(datum)
        self._oldest = min(self._oldest, at)

    @staticmethod
    def _merge_key(datum: Any, key: SeriesKey, at: float) -> tuple[Any, ...] | None:
        if type(datum) is weighted_datum_class():
            return key, datum.unit, at, datum.value
        if type(datum) is statistic_set_class():
            return key, datum.unit, at
        return None  # a single value stays as moto keeps it

    def unit_of(self, key: SeriesKey, start: float, end: float) -> str | None:
        """The unit the series' datapoints in [start, end) were sent with (the first one's), if any."""
        with self.lock:
            units = [datum.unit for _, datum in self.points(key, start, end) if datum.unit]
        return units[0] if units else None

    def points(self, key: SeriesKey, start: float, end: float) -> list[tuple[float, Any]]:
        """The series' datapoints (time, datum) with start <= time < end; call with the lock held."""
        series = self._series.get(key, {})
        return [(at, datum) for at, data in series.items() if start <= at < end for datum in data]

    def extend(self, data: Any) -> None:
        for datum in data:
            self.append(datum)

    def __setitem__(self, index: Any, value: Any) -> None:
        with self.lock:
            super().__setitem__(index, value)
            self._reindex()

    def __delitem__(self, index: Any) -> None:
        with self.lock:
            super().__delitem__(index)
            self._reindex()

    def _reindex(self) -> None:
        self._series, self._merged, self._oldest = {}, {}, math.inf
        for datum in self:
            key, at = series_key(datum), epoch(datum.timestamp)
            self._add(datum, key, at, self._merge_key(datum, key, at))

    def drop_older(self, oldest: float) -> int:
        """Drop datapoints older than the unix time oldest; return how many were dropped."""
        with self.lock:
            if self._oldest >= oldest:
                return 0
            held = len(self)
            super().__setitem__(slice(None), [datum for datum in self if epoch(datum.timestamp) >= oldest])
            self._reindex()
            return held - len(self)


def _merge(held: Any, datum: Any) -> None:
    """Fold a statistic set or a value's count into the one held for the same series, unit and time."""
    if type(held) is weighted_datum_class():
        held.count += datum.count
        held.sample_count, held.sum = held.count, held.value * held.count
        return
    held.min, held.max = min(held.min, datum.min), max(held.max, datum.max)
    held.sample_count += datum.sample_count
    held.sum += datum.sum
