"""The telemetry's way in: datapoints stored as AWS's own services publish them, no API request on the way."""

from __future__ import annotations

from typing import Any


def publish(account: str, region: str, namespace: str, metric_data: list[dict[str, Any]]) -> None:
    """Store PutMetricData's MetricData as moto's request parser gives it (timestamps in naive UTC), corrected and
    journaled as a request's would be."""
    from moto.cloudwatch.models import cloudwatch_backends

    cloudwatch_backends[account][region].put_metric_data(namespace, metric_data)
