"""Where moto's CloudWatch answers otherwise than CloudWatch, or too slowly to be usable."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from localaws.services.cloudwatch import statistics
from localaws.services.cloudwatch.cloudformation import cloudformation_alarms
from localaws.services.cloudwatch.store import (
    PUT_METRIC_ALARM_PARAMETERS,
    MetricStore,
    SeriesKey,
    epoch,
    series_key,
    weighted_datum_class,
)
from localaws.services.patches import MARK, Correction, Kind

_BACKEND = "moto.cloudwatch.models:CloudWatchBackend"
INITIAL_REASON = "Unchecked: Initial alarm creation"

metric_store = Correction(
    "CloudWatch metric store",
    Kind.FIX,
    "moto appends every datapoint to one list and scans it all for each query and each alarm (24 hours of them): "
    "each backend keeps its datapoints in a MetricStore, indexed by series and time, merged per series and minute.",
)


@metric_store.replaces(
    f"{_BACKEND}.__init__",
    params=["self", "region_name", "account_id"],
    source=["self.metric_data: list[MetricDatumBase] = []"],
)
def __init__(original: Any, self: Any, *args: Any, **kwargs: Any) -> None:
    original(self, *args, **kwargs)
    self.metric_data = MetricStore(self.metric_data)


values_with_counts = Correction(
    "CloudWatch values with counts",
    Kind.FIX,
    "moto stores a PutMetricData datum of Values and Counts as one object per count (a value counted 500 times is 500 "
    "objects): memory grew with every execution. Each distinct value is kept once, with its count.",
)
values_with_counts.expects(f"{_BACKEND}._validate_parameters_put_metric_data", params=["self", "metric", "query_num"])


@values_with_counts.replaces(f"{_BACKEND}.put_metric_data", params=["self", "namespace", "metric_data"])
def put_metric_data(original: Any, self: Any, namespace: str, metric_data: list[dict[str, Any]]) -> None:
    weighted_cls = weighted_datum_class()
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


metric_statistics = Correction(
    "CloudWatch statistics",
    Kind.FIX,
    "moto's GetMetricData has no percentiles (a pNN query fails with HTTP 500), matches a query without dimensions to "
    "every series of the name and a query with dimensions in any namespace, and scans every datapoint of the window "
    "for every period (a 24-hour query at one-minute periods took seconds). MetricStat queries are answered from the "
    "metric store instead: exact namespace, name and dimensions, pNN by nearest rank, one pass over the window. moto's "
    "GetMetricStatistics starts its periods at the first datum (not on the period's boundaries), ignores "
    "ExtendedStatistics and matches dimensions as loosely: it is answered from the store the same way.",
)
metric_statistics.expects("moto.cloudwatch.metric_data_expression_parser:parse_expression")
metric_statistics.expects(f"{_BACKEND}.aws_metric_data")


@metric_statistics.check
def _metric_store_in_place() -> str | None:
    from moto.cloudwatch.models import CloudWatchBackend

    # Queries are answered from the store's index of each series.
    if getattr(CloudWatchBackend.__dict__["__init__"], MARK, None) != metric_store.name:
        return f"{metric_store.name!r} must be applied first"
    return None


@metric_statistics.replaces(
    f"{_BACKEND}.get_metric_data", params=["self", "queries", "start_time", "end_time", "scan_by"]
)
def get_metric_data(
    original: Any,
    self: Any,
    queries: list[dict[str, Any]],
    start_time: Any,
    end_time: Any,
    scan_by: str = "TimestampAscending",
) -> list[dict[str, Any]]:
    from moto.cloudwatch.exceptions import ValidationError
    from moto.cloudwatch.metric_data_expression_parser import parse_expression

    insights = [q for q in queries if q.get("Expression", "").startswith("SELECT")]
    start, end = epoch(start_time.replace(microsecond=0)), epoch(end_time.replace(microsecond=0))
    # moto's own reads every datapoint kept before it looks at a query: called for Insights queries only.
    answers = original(self, insights, start_time, end_time, scan_by) if insights else []
    if start >= end:  # moto's checks, in its words
        raise ValidationError(
            "The parameter EndTime must be greater than StartTime."
            if start > end
            else "The parameter StartTime must not equal parameter EndTime."
        )
    provided: dict[SeriesKey, list[tuple[float, Any]]] = defaultdict(list)  # S3's, made on each call
    for datum in self.aws_metric_data:
        if start <= (at := epoch(datum.timestamp)) < end:
            provided[series_key(datum)].append((at, datum))
    results = [
        statistics.metric_stat(query, self.metric_data, provided, start, end, scan_by)
        for query in queries
        if "MetricStat" in query
    ]
    for query in (q for q in queries if "Expression" in q and q not in insights):
        values, timestamps = parse_expression(query["Expression"], results)
        results.append({"id": query["Id"], "label": query.get("Label") or query["Id"], "values": values,
                        "timestamps": timestamps, "status_code": "Complete", "return": True})  # fmt: skip
    returned = [{k: v for k, v in r.items() if k != "return"} for r in results if r["return"]]
    return returned + answers


@metric_statistics.replaces("moto.cloudwatch.responses:CloudWatchResponse.get_metric_statistics", params=["self"])
def get_metric_statistics(original: Any, self: Any) -> Any:
    """Each period's statistics from the metric store, aligned to the StartTime by period as CloudWatch aligns them;
    ExtendedStatistics (pNN) answered, which moto ignores, and the datapoints' Unit given."""
    from moto.cloudwatch.exceptions import InvalidParameterCombination, InvalidParameterValue
    from moto.core.responses import ActionResult

    names = self._get_param("Statistics", [])
    extended = self._get_param("ExtendedStatistics", [])
    if not names and not extended:
        raise InvalidParameterCombination("Must specify either Statistics or ExtendedStatistics")
    metric = {
        "Namespace": self._get_param("Namespace"),
        "MetricName": self._get_param("MetricName"),
        "Dimensions": self._get_param("Dimensions", []),
    }
    period, unit = self._get_int_param("Period"), self._get_param("Unit")
    start, end = (epoch(self._get_param(name).replace(microsecond=0)) for name in ("StartTime", "EndTime"))
    if start >= end:
        raise InvalidParameterValue("The parameter StartTime must be less than the parameter EndTime.")
    backend, by_time = self.cloudwatch_backend, defaultdict(dict)
    for stat in [*names, *extended]:
        spec = {"Metric": metric, "Period": period, "Stat": stat} | ({"Unit": unit} if unit else {})
        answer = statistics.metric_stat({"Id": "q", "MetricStat": spec}, backend.metric_data, {}, start, end, "")
        for at, value in zip(answer["timestamps"], answer["values"], strict=True):
            point = by_time[at]
            point.setdefault("Timestamp", at)
            if stat in names:
                point[stat] = value
            else:
                point.setdefault("ExtendedStatistics", {})[stat] = value
    dimensions = frozenset((d["Name"], d["Value"]) for d in metric["Dimensions"])
    series = (metric["Namespace"], metric["MetricName"], dimensions)
    stored_unit = unit or backend.metric_data.unit_of(series, start, end) or "None"
    datapoints = [point | {"Unit": stored_unit} for _, point in sorted(by_time.items())]
    return ActionResult({"Label": metric["MetricName"], "Datapoints": datapoints})


initial_state = Correction(
    "CloudWatch alarm initial state",
    Kind.FIX,
    "moto creates an alarm in state OK and resets the state when PutMetricAlarm updates it. On AWS a new alarm is "
    "INSUFFICIENT_DATA until it is evaluated, and an update leaves the state as it is.",
)


@initial_state.replaces(
    f"{_BACKEND}.put_metric_alarm",
    params=PUT_METRIC_ALARM_PARAMETERS,
)  # fmt: skip
def put_metric_alarm(original: Any, self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    previous = self.alarms.get(name)
    alarm = original(self, name, *args, **kwargs)
    if previous is None:
        alarm.state_value, alarm.state_reason = "INSUFFICIENT_DATA", INITIAL_REASON
    else:
        for field in ("state_value", "state_reason", "state_reason_data", "state_updated_timestamp", "history"):
            setattr(alarm, field, getattr(previous, field))
    return alarm


CORRECTIONS = (cloudformation_alarms, metric_store, values_with_counts, metric_statistics, initial_state)
