"""GetMetricData's MetricStat answered as CloudWatch answers it: exact namespace, name and dimensions; Sum, Average,
Minimum, Maximum, SampleCount and pNN (nearest rank over the raw values; statistic sets carry no distribution)."""

from __future__ import annotations

import datetime
import math
import re
from collections import defaultdict
from typing import Any

from localaws.services.cloudwatch.store import MetricStore, SeriesKey, statistic_set_class, weighted_datum_class

_PERCENTILE = re.compile(r"p(\d{1,2}(?:\.\d+)?)")


def percentile(values: list[tuple[float, float]], rank: float) -> float:
    """Nearest-rank percentile of (value, count) pairs."""
    ordered = sorted(values)
    wanted = max(1.0, math.ceil(rank / 100 * sum(count for _, count in ordered)))
    seen = 0.0
    for value, count in ordered:
        seen += count
        if seen >= wanted:
            return value
    return ordered[-1][0]


def statistic(stat: str, values: list[tuple[float, float]], sets: list[Any]) -> float | None:
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
    matched = _PERCENTILE.fullmatch(stat)
    if matched and values:  # statistic sets carry no distribution, as on CloudWatch
        return percentile(values, float(matched.group(1)))
    return None


def metric_stat(
    query: dict[str, Any],
    store: MetricStore,
    provided: dict[SeriesKey, list[tuple[float, Any]]],
    start: float,
    end: float,
    scan_by: str,
) -> dict[str, Any]:
    """The answer to one MetricStat query over [start, end), in one pass over the series' datapoints (provided:
    those of AWS's own services that moto makes on each call, by series)."""
    from moto.cloudwatch.models import MetricDatum

    stat_spec, metric = query["MetricStat"], query["MetricStat"]["Metric"]
    key = (
        metric["Namespace"],
        metric["MetricName"],
        frozenset((d["Name"], d["Value"]) for d in metric.get("Dimensions", [])),
    )
    period = int(stat_spec["Period"])
    weighted_cls, set_cls = weighted_datum_class(), statistic_set_class()
    buckets: dict[int, tuple[list[tuple[float, float]], list[Any]]] = defaultdict(lambda: ([], []))
    with store.lock:
        for at, datum in store.points(key, start, end) + provided.get(key, []):
            if stat_spec.get("Unit") and datum.unit != stat_spec["Unit"]:
                continue
            values, sets = buckets[int((at - start) // period)]
            if isinstance(datum, weighted_cls):
                values.append((datum.value, datum.count))
            elif isinstance(datum, MetricDatum):
                values.append((datum.value, 1.0))
            elif isinstance(datum, set_cls):
                sets.append(datum)
        points = [(index, statistic(stat_spec["Stat"], *buckets[index])) for index in sorted(buckets)]
    points = [(index, value) for index, value in points if value is not None]
    if scan_by == "TimestampDescending":
        points.reverse()
    return {
        "id": query["Id"],
        "label": query.get("Label") or f"{metric['MetricName']} {stat_spec['Stat']}",
        "values": [value for _, value in points],
        "timestamps": [datetime.datetime.fromtimestamp(start + index * period, datetime.UTC) for index, _ in points],
        "status_code": "Complete",
        "return": query.get("ReturnData", True),
    }
