"""Datapoints kept for the retention only (moto keeps every one forever), and alarm history for CloudWatch's two
weeks, in memory and in the journal."""

from __future__ import annotations

import time

from localaws.services.backends import iter_backends
from localaws.services.cloudwatch import history
from localaws.services.cloudwatch.journal import forget_datapoints_before


def retain_metrics(keep_seconds: float, now: float | None = None) -> int:
    """Drop datapoints older than keep_seconds before now; return how many were dropped from memory."""
    from moto.cloudwatch.models import cloudwatch_backends

    oldest = (time.time() if now is None else now) - keep_seconds
    dropped = sum(backend.metric_data.drop_older(oldest) for backend in iter_backends(cloudwatch_backends))
    forget_datapoints_before(oldest)
    return dropped


def retain_alarm_history(now: float | None = None) -> None:
    """Drop alarm history items older than CloudWatch keeps them (and those beyond the count kept)."""
    history.forget_before((time.time() if now is None else now) - history.RETENTION_SECONDS)
