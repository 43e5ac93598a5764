"""Shared fixtures: a private embedded local AWS for the session, and polling with a bound."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")
PROJECT_ROOT = Path(__file__).resolve().parents[1]
_APP_SETTINGS = ("ORDERS_STACK_NAME", "ORDERS_QUEUE_URL", "ORDERS_DLQ_URL", "ORDERS_WORKFLOW_ARN")


def poll(check: Callable[[], T | None], timeout: float = 30, interval: float = 0.2, what: str = "condition") -> T:
    """Call check until it returns something truthy; fail the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def order_request(method: Any = None, lines: list[dict] | None = None) -> Any:
    """A valid order request: two bags of coffee on the Visa test card unless told otherwise."""
    from lambdas.domain.order import OrderRequest, PaymentMethod

    return OrderRequest(
        customer_name="Grace Hopper",
        customer_email="grace@example.com",
        lines=lines or [{"sku": "COFFEE-1KG", "quantity": 2}],
        payment_method=method or PaymentMethod.VISA,
    )


def metric_sum(
    cloudwatch: Any, namespace: str, name: str, dimensions: dict[str, str], stat: str = "Sum", minutes: int = 60
) -> float:
    """A CloudWatch statistic of one series over the last minutes, summed over its datapoints."""
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName=name,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=now - timedelta(minutes=minutes),
        EndTime=now + timedelta(minutes=1),
        Period=3600,
        Statistics=[stat],
    )["Datapoints"]
    return sum(point[stat] for point in points)


@pytest.fixture(scope="session")
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A local AWS of this test session only: its own state folder, a free port, a 1 s visibility timeout."""
    from backend import aws
    from backend.local import instance
    from backend.settings import settings

    for name in _APP_SETTINGS:
        os.environ.pop(name, None)
    os.environ.update(
        ORDERS_LOCAL_STATE_DIR=str(tmp_path_factory.mktemp("local-aws")),
        ORDERS_LOCAL_PORT="0",
        ORDERS_LOCAL_VISIBILITY_TIMEOUT_SECONDS="1",
    )
    settings.cache_clear()
    aws.reset()
    aws.connection()
    info = instance.running()
    assert info is not None
    yield info
    instance.stop_running()
    aws.reset()
