"""Corrections to moto's CloudWatch: CloudFormation alarms, statistics with percentiles, bounded retention, durable
datapoints."""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import importlib
import inspect
import json
import math
import re
import threading
import time
from collections import defaultdict
from typing import Any

from localaws.services import _cloudformation
from localaws.services._patching import acknowledged, fail, is_ours, iter_backends, mark, require_params

_PERCENTILE = re.compile(r"p(\d{1,2}(?:\.\d+)?)")

# PutMetricAlarm takes the properties of AWS::CloudWatch::Alarm by the same names.
_ALARM_PARAMETERS = (
    "AlarmName",
    "AlarmDescription",
    "ActionsEnabled",
    "OKActions",
    "AlarmActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "ThresholdMetricId",
)


def cloudformation_alarms() -> None:
    """moto's CloudFormation silently skips AWS::CloudWatch::Alarm; the template's alarms are created through
    PutMetricAlarm instead, so DescribeAlarms lists them and !GetAtt Alarm.Arn resolves."""
    base = importlib.import_module("moto.core.common_models").CloudFormationModel

    class CloudFormationAlarm(base):  # type: ignore[misc, valid-type]
        """An AWS::CloudWatch::Alarm made by a stack."""

        def __init__(self, name: str, arn: str) -> None:
            self.physical_resource_id = name
            self.arn = arn

        @staticmethod
        def cloudformation_name_type() -> str:
            return "AlarmName"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::CloudWatch::Alarm"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr == "Arn"

        def get_cfn_attribute(self, attribute_name: str) -> str:
            return self.arn

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> CloudFormationAlarm:
            properties = cloudformation_json["Properties"]
            if "AlarmName" not in properties:
                resource_name = _stable_name(resource_name)
            parameters = _cloudformation.api_parameters(properties, _ALARM_PARAMETERS) | {"AlarmName": resource_name}
            cloudwatch = _cloudformation.api("cloudwatch", region_name)
            cloudwatch.put_metric_alarm(**parameters)
            (alarm,) = cloudwatch.describe_alarms(AlarmNames=[resource_name])["MetricAlarms"]
            return cls(resource_name, alarm["AlarmArn"])

        @classmethod
        def delete_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            _cloudformation.api("cloudwatch", region_name).delete_alarms(AlarmNames=[resource_name])

    _cloudformation.register(CloudFormationAlarm)


def _stable_name(generated: str) -> str:
    """<stack>-<LogicalId>-<random suffix> with a suffix made from the rest instead."""
    # CloudFormation names an alarm once, for the stack's life; the local stack is made again at every start, and a
    # new name would lose the alarm's journaled state. Same form: 12 upper-case letters and digits.
    prefix = generated.rsplit("-", 1)[0]
    digest = hashlib.sha256(prefix.encode()).digest()
    return f"{prefix}-{base64.b32encode(digest).decode()[:12]}"


def _epoch(moment: datetime.datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)).timestamp()


def _percentile(values: list[tuple[float, float]], rank: float) -> float:
    """Nearest-rank percentile of (value, count) pairs."""
    ordered = sorted(values)
    wanted = max(1.0, math.ceil(rank / 100 * sum(count for _, count in ordered)))
    seen = 0.0
    for value, count in ordered:
        seen += count
        if seen >= wanted:
            return value
    return ordered[-1][0]


def _statistic(stat: str, values: list[tuple[float, float]], sets: list[Any]) -> float | None:
    """One statistic of a period's values ((value, count) pairs) and statistic sets (None when it has no value)."""
    count = sum(n for _, n in values) + sum(s.sample_count for s in sets)
    if not count:
        return None
    total = sum(value * n for value, n in values) + sum(s.sum for s in sets)
    if stat == "Sum":
        return total
    if stat == "SampleCount":
        return float(count)
    if stat == "Average":
        return total / count
    if stat == "Minimum":
        return min([*(value for value, _ in values), *(s.min for s in sets)])
    if stat == "Maximum":
        return max([*(value for value, _ in values), *(s.max for s in sets)])
    percentile = _PERCENTILE.fullmatch(stat)
    if percentile and values:  # statistic sets carry no distribution, as on CloudWatch
        return _percentile(values, float(percentile.group(1)))
    return None


@functools.cache
def _statistic_set_class() -> type:
    return importlib.import_module("moto.cloudwatch.models").MetricAggregatedDatum  # type: ignore[no-any-return]


@functools.cache
def _weighted_datum_class() -> type:
    models = importlib.import_module("moto.cloudwatch.models")

    class WeightedDatum(models.MetricAggregatedDatum):  # type: ignore[misc, name-defined]
        """One value of a Values/Counts datum, with its count: a statistic set to moto, a distribution to us."""

        def __init__(self, namespace: str, name: str, value: float, count: float, dimensions: Any, timestamp: Any,
                     unit: Any) -> None:  # fmt: skip
            super().__init__(namespace, name, value, value, count, value * count, dimensions, timestamp, unit)
            self.value, self.count = value, count

    return WeightedDatum


def publish(account: str, region: str, namespace: str, metric_data: list[dict[str, Any]]) -> None:
    """Store datapoints as AWS's own services publish them: PutMetricData's MetricData as moto's request parser
    gives it (timestamps in naive UTC), stored and journaled, no API request on the way."""
    from moto.cloudwatch.models import cloudwatch_backends

    cloudwatch_backends[account][region].put_metric_data(namespace, metric_data)


def weighted_values() -> None:
    """moto stores a PutMetricData datum of Values and Counts as one object per count (a value counted 500 times
    is 500 objects): memory grew with every execution. Each distinct value is kept once, with its count."""
    correction = "CloudWatch values with counts"
    backend_cls = importlib.import_module("moto.cloudwatch.models").CloudWatchBackend
    original = backend_cls.__dict__["put_metric_data"]
    if is_ours(original):
        return
    require_params(correction, original, ["self", "namespace", "metric_data"])
    if not callable(getattr(backend_cls, "_validate_parameters_put_metric_data", None)):
        raise fail(correction, "CloudWatchBackend._validate_parameters_put_metric_data is gone")
    weighted_cls = _weighted_datum_class()

    @functools.wraps(original)
    def put_metric_data(self: Any, namespace: str, metric_data: list[dict[str, Any]]) -> None:
        for index, member in enumerate(metric_data):
            self._validate_parameters_put_metric_data(member, index + 1)
        original(self, namespace, [member for member in metric_data if not member.get("Values")])
        for member in (m for m in metric_data if m.get("Values")):
            counts = member.get("Counts") or [1] * len(member["Values"])
            for value, count in zip(member["Values"], counts, strict=False):
                self.metric_data.append(
                    weighted_cls(namespace, member["MetricName"], float(value), float(count),
                                 member.get("Dimensions", []), member.get("Timestamp"), member.get("Unit"))
                )  # fmt: skip

    backend_cls.put_metric_data = mark(put_metric_data)


SeriesKey = tuple[str, str, frozenset[tuple[str, str]]]  # namespace, name, dimensions


def _series_key(datum: Any) -> SeriesKey:
    return datum.namespace, datum.name, frozenset((d.name, d.value) for d in datum.dimensions)


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
        key, at = _series_key(datum), _epoch(datum.timestamp)
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
        if type(datum) is _weighted_datum_class():
            return key, datum.unit, at, datum.value
        if type(datum) is _statistic_set_class():
            return key, datum.unit, at
        return None  # a single value stays as moto keeps it

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
            key, at = _series_key(datum), _epoch(datum.timestamp)
            self._add(datum, key, at, self._merge_key(datum, key, at))

    def drop_older(self, oldest: float) -> int:
        """Drop datapoints older than the unix time oldest; return how many were dropped."""
        with self.lock:
            if self._oldest >= oldest:
                return 0
            held = len(self)
            super().__setitem__(slice(None), [datum for datum in self if _epoch(datum.timestamp) >= oldest])
            self._reindex()
            return held - len(self)


def _merge(held: Any, datum: Any) -> None:
    """Fold a statistic set or a value's count into the one held for the same series, unit and time."""
    if type(held) is _weighted_datum_class():
        held.count += datum.count
        held.sample_count, held.sum = held.count, held.value * held.count
        return
    held.min, held.max = min(held.min, datum.min), max(held.max, datum.max)
    held.sample_count += datum.sample_count
    held.sum += datum.sum


def indexed_metric_data() -> None:
    """Each CloudWatch backend keeps its datapoints in a MetricStore (moto appends to a plain list)."""
    correction = "CloudWatch metric store"
    backend_cls = importlib.import_module("moto.cloudwatch.models").CloudWatchBackend
    init = backend_cls.__dict__["__init__"]
    if is_ours(init):
        return
    if "self.metric_data: list[MetricDatumBase] = []" not in inspect.getsource(init):
        raise fail(correction, "CloudWatchBackend.__init__ no longer starts an empty metric_data list")

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.metric_data = MetricStore(self.metric_data)

    backend_cls.__init__ = mark(__init__)


def metric_statistics() -> None:
    """moto's GetMetricData has no percentiles (a pNN query fails with HTTP 500), matches a query without dimensions
    to every series of the name and a query with dimensions in any namespace, and scans every datapoint of the
    window for every period (a 24-hour query at one-minute periods took seconds). MetricStat queries are answered
    here instead: exact namespace, name and dimensions; Sum, Average, Minimum, Maximum, SampleCount and pNN
    (nearest rank over the raw values; statistic sets carry no distribution); one pass over the window."""
    correction = "CloudWatch statistics"
    models = importlib.import_module("moto.cloudwatch.models")
    parse_expression = importlib.import_module("moto.cloudwatch.metric_data_expression_parser").parse_expression
    backend_cls = models.CloudWatchBackend
    original = backend_cls.__dict__["get_metric_data"]
    if is_ours(original):
        return
    require_params(correction, original, ["self", "queries", "start_time", "end_time", "scan_by"])
    raw_cls, set_cls = models.MetricDatum, models.MetricAggregatedDatum
    validation_error = importlib.import_module("moto.cloudwatch.exceptions").ValidationError
    weighted_cls = _weighted_datum_class()

    @functools.wraps(original)
    def get_metric_data(
        self: Any, queries: list[dict[str, Any]], start_time: Any, end_time: Any, scan_by: str = "TimestampAscending"
    ) -> list[dict[str, Any]]:
        insights = [q for q in queries if q.get("Expression", "").startswith("SELECT")]
        start, end = _epoch(start_time.replace(microsecond=0)), _epoch(end_time.replace(microsecond=0))
        # moto's own reads every datapoint kept before it looks at a query: called for Insights queries only.
        answers = original(self, insights, start_time, end_time, scan_by) if insights else []
        if start >= end:  # moto's checks, in its words
            raise validation_error(
                "The parameter EndTime must be greater than StartTime."
                if start > end
                else "The parameter StartTime must not equal parameter EndTime."
            )
        provided: dict[SeriesKey, list[tuple[float, Any]]] = defaultdict(list)  # S3's, made on each call
        for datum in self.aws_metric_data:
            if start <= (at := _epoch(datum.timestamp)) < end:
                provided[_series_key(datum)].append((at, datum))
        results: list[dict[str, Any]] = []
        for query in (q for q in queries if "MetricStat" in q):
            stat_spec, metric = query["MetricStat"], query["MetricStat"]["Metric"]
            key = (
                metric["Namespace"],
                metric["MetricName"],
                frozenset((d["Name"], d["Value"]) for d in metric.get("Dimensions", [])),
            )
            period = int(stat_spec["Period"])
            buckets: dict[int, tuple[list[tuple[float, float]], list[Any]]] = defaultdict(lambda: ([], []))
            with self.metric_data.lock:
                for at, datum in self.metric_data.points(key, start, end) + provided.get(key, []):
                    if stat_spec.get("Unit") and datum.unit != stat_spec["Unit"]:
                        continue
                    values, sets = buckets[int((at - start) // period)]
                    if isinstance(datum, weighted_cls):
                        values.append((datum.value, datum.count))
                    elif isinstance(datum, raw_cls):
                        values.append((datum.value, 1.0))
                    elif isinstance(datum, set_cls):
                        sets.append(datum)
                points = [(index, _statistic(stat_spec["Stat"], *buckets[index])) for index in sorted(buckets)]
            points = [(index, value) for index, value in points if value is not None]
            if scan_by == "TimestampDescending":
                points.reverse()
            results.append(
                {
                    "id": query["Id"],
                    "label": query.get("Label") or f"{metric['MetricName']} {stat_spec['Stat']}",
                    "values": [value for _, value in points],
                    "timestamps": [
                        datetime.datetime.fromtimestamp(start + index * period, datetime.UTC) for index, _ in points
                    ],
                    "status_code": "Complete",
                    "return": query.get("ReturnData", True),
                }
            )
        for query in (q for q in queries if "Expression" in q and q not in insights):
            values, timestamps = parse_expression(query["Expression"], results)
            results.append({"id": query["Id"], "label": query.get("Label") or query["Id"], "values": values,
                            "timestamps": timestamps, "status_code": "Complete", "return": True})  # fmt: skip
        returned = [{k: v for k, v in r.items() if k != "return"} for r in results if r["return"]]
        return returned + answers

    backend_cls.get_metric_data = mark(get_metric_data)


def retain_metrics(keep_seconds: float) -> int:
    """Drop datapoints older than keep_seconds (moto keeps every one forever); return how many were dropped."""
    from moto.cloudwatch.models import cloudwatch_backends

    oldest = time.time() - keep_seconds
    dropped = sum(backend.metric_data.drop_older(oldest) for backend in iter_backends(cloudwatch_backends))
    if _journal:  # also what a restart left out as too old: a range of an index, usually empty
        deletes = [(f"DELETE FROM {table} WHERE at < ?", [(oldest,)]) for table in _METRIC_TABLES]  # noqa: S608
        _journal[0].write(deletes)
    return dropped


# --- Durability -------------------------------------------------------------------------------------
# Every datapoint is journaled in the form kept in memory, merged further: values with counts per series, timestamp
# and value, statistic sets per series and timestamp (the telemetry's are per minute). The telemetry's writes go in
# the writer's next batch; a client's PutMetricData answers once its datapoints are on disk.

JOURNALED = "__localaws_journal__"
_journal: list[Any] = []
_METRIC_TABLES = ("metric_values", "metric_sets")
_ADD_VALUES = (
    "INSERT INTO metric_values VALUES (?, ?, ?, ?) "
    "ON CONFLICT (series, at, value) DO UPDATE SET count = count + excluded.count"
)
_ADD_SET = (
    "INSERT INTO metric_sets VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (series, at) DO UPDATE SET "
    "count = count + excluded.count, total = total + excluded.total, minimum = min(minimum, excluded.minimum), "
    "maximum = max(maximum, excluded.maximum)"
)


def record_to(journal: Any) -> None:
    """Journal every datapoint to journal (None: stop)."""
    _journal[:] = [journal] if journal is not None else []


def _series(backend: Any, namespace: str, member: dict[str, Any]) -> str:
    dimensions = [[d["Name"], d["Value"]] for d in member.get("Dimensions") or []]
    key = [backend.account_id, backend.region_name, namespace, member["MetricName"], dimensions, member.get("Unit")]
    return json.dumps(key, separators=(",", ":"))


def journal_metrics() -> None:
    """Journal every PutMetricData datum; a client's PutMetricData answers once it is on disk."""
    correction = "CloudWatch journal"
    backend_cls = importlib.import_module("moto.cloudwatch.models").CloudWatchBackend
    responses = importlib.import_module("moto.cloudwatch.responses").CloudWatchResponse
    utcnow = importlib.import_module("moto.core.utils").utcnow
    put = backend_cls.__dict__["put_metric_data"]
    if is_ours(put, JOURNALED):
        return
    require_params(correction, put, ["self", "namespace", "metric_data"])
    require_params(correction, responses.__dict__["put_metric_data"], ["self"])

    @functools.wraps(put)
    def put_metric_data(self: Any, namespace: str, metric_data: list[dict[str, Any]]) -> None:
        # moto stamps a datum without a timestamp with its own now: the journal must have the same one.
        now = utcnow()
        metric_data = [member if member.get("Timestamp") else {**member, "Timestamp": now} for member in metric_data]
        put(self, namespace, metric_data)
        if not _journal:
            return
        values: list[tuple[Any, ...]] = []
        sets: list[tuple[Any, ...]] = []
        for member in metric_data:
            series, at = _series(self, namespace, member), _epoch(member["Timestamp"])
            if member.get("Values"):
                counts = member.get("Counts") or [1] * len(member["Values"])
                values += [(series, at, float(v), float(c)) for v, c in zip(member["Values"], counts, strict=False)]
            elif member.get("StatisticValues"):
                stats = member["StatisticValues"]
                sets.append((series, at, float(stats["SampleCount"]), float(stats["Sum"]), float(stats["Minimum"]),
                             float(stats["Maximum"])))  # fmt: skip
            else:
                values.append((series, at, float(member.get("Value", 0)), 1.0))
        _journal[0].write([(_ADD_VALUES, values), (_ADD_SET, sets)])

    answer = responses.__dict__["put_metric_data"]

    backend_cls.put_metric_data = mark(put_metric_data, JOURNALED)
    responses.put_metric_data = acknowledged(answer, _journal, JOURNALED)


def restore(journal: Any, keep_seconds: float) -> dict[str, int]:
    """Put the journaled datapoints of the last keep_seconds back (merged: one datum per value, or set, and time)."""
    from moto.cloudwatch.models import MetricAggregatedDatum, cloudwatch_backends

    weighted_cls = _weighted_datum_class()
    oldest = time.time() - keep_seconds
    restored: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for table in _METRIC_TABLES:
        for row in journal.rows(f"SELECT * FROM {table} WHERE at >= ? ORDER BY at", oldest):  # noqa: S608
            account, region, namespace, name, dimensions, unit = json.loads(row["series"])
            dimensions = [{"Name": key, "Value": value} for key, value in dimensions]
            # Naive UTC, as moto's request parser and its own clock make them.
            at = datetime.datetime.fromtimestamp(row["at"], datetime.UTC).replace(tzinfo=None)
            if table == "metric_values":
                datum = weighted_cls(namespace, name, row["value"], row["count"], dimensions, at, unit)
            else:
                datum = MetricAggregatedDatum(namespace, name, row["minimum"], row["maximum"], row["count"],
                                              row["total"], dimensions, at, unit)  # fmt: skip
            restored[(account, region)].append(datum)
    for (account, region), data in restored.items():
        cloudwatch_backends[account][region].metric_data.extend(data)
    return {"datapoints": sum(len(data) for data in restored.values())}


CORRECTIONS = (
    ("CloudFormation alarms", cloudformation_alarms),
    ("CloudWatch metric store", indexed_metric_data),
    ("CloudWatch values with counts", weighted_values),
    ("CloudWatch statistics", metric_statistics),
    ("CloudWatch journal", journal_metrics),
)
