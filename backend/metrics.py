"""Reading CloudWatch metrics: one GetMetricData call for many series (works the same on moto and AWS)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from backend import aws

_QUERIES_PER_CALL = 500  # GetMetricData's limit
_MAX_PAGES = 20


class MetricQuery(NamedTuple):
    """One metric series to read: an id, namespace, name, dimensions, statistic (Sum, Average, p90, ...) and,
    when it differs from the call's, its own period."""

    id: str
    namespace: str
    name: str
    dimensions: dict[str, str]
    stat: str
    period: int | None = None


def metric_series(
    queries: list[MetricQuery], since: datetime, until: datetime, period_seconds: int
) -> dict[str, list[tuple[datetime, float]]]:
    """Each query's datapoints (oldest first) in [since, until] at the given period; callers add @translated."""
    results: dict[str, list[tuple[datetime, float]]] = {query.id: [] for query in queries}
    cloudwatch = aws.client("cloudwatch")
    for start in range(0, len(queries), _QUERIES_PER_CALL):
        chunk = queries[start : start + _QUERIES_PER_CALL]
        kwargs: dict[str, Any] = {
            "MetricDataQueries": [
                {
                    "Id": query.id,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": query.namespace,
                            "MetricName": query.name,
                            "Dimensions": [{"Name": k, "Value": v} for k, v in query.dimensions.items()],
                        },
                        "Period": query.period or period_seconds,
                        "Stat": query.stat,
                    },
                    "ReturnData": True,
                }
                for query in chunk
            ],
            "StartTime": since,
            "EndTime": until,
            "ScanBy": "TimestampAscending",
        }
        for _ in range(_MAX_PAGES):
            page = cloudwatch.get_metric_data(**kwargs)
            for result in page.get("MetricDataResults", []):
                results[result["Id"]].extend(zip(result.get("Timestamps", []), result.get("Values", []), strict=False))
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
    for values in results.values():
        values.sort(key=lambda point: point[0])
    return results
