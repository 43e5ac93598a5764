"""Shared fixtures: a private embedded local AWS for the session, and polling with a bound."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

# Every response a test's AWS clients receive is checked against botocore's model of its operation.
pytest_plugins = ["tests.conformance.plugins.response_shapes"]
T = TypeVar("T")
PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Whatever the developer's shell points at (an AWS stack, an endpoint, a profile) must not leak into the tests.
_APP_SETTINGS = (
    "ORDERS_STACK_NAME",
    "AWS_ENDPOINT_URL",
    "AWS_PROFILE",
    "ORDERS_LOCAL_TEMPLATE",
    "ORDERS_LOCAL_PARAMETERS",
    "ORDERS_AUTH",  # sign-in and roles: the app's local defaults (sign-in off) unless a test sets them
    "ORDERS_GROUPS_CLAIM",
    "ORDERS_OPERATOR_GROUPS",
    "ORDERS_STAFF_GROUPS",
    "ORDERS_OPERATOR_EMAILS",
    "ORDERS_STAFF_EMAILS",
    "ORDERS_VIEWER_GROUPS",
    "ORDERS_VIEWER_EMAILS",
    "ORDERS_AUTH_MAX_AGE_HOURS",
)
# Seconds before an order message that start_order failed is received again (the template's 185 s is for AWS).
TEST_VISIBILITY_TIMEOUT = 2


IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def aws_cli_path() -> Path:
    """AWS's own CLI, as make test installs it; the test is skipped without it (failed in CI)."""
    tools = os.environ.get("INFRA_TOOLS_BIN") or str(PROJECT_ROOT / ".venv-infra" / "bin")
    cli = Path(tools) / "aws"
    if not cli.exists():
        message = f"the AWS CLI is missing at {cli}: make test installs it (infra/requirements.txt)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return cli


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


PURGE_INTERVAL_SECONDS = 60  # PurgeQueue is allowed once a minute per queue, on moto as on AWS
_purged_at: dict[str, float] = {}  # queue URL -> when a test of this session last purged it (monotonic)


def before_purge(queue_url: str) -> None:
    """Wait until the queue may be purged again after this session's last purge of it, and note this one: tests in
    one session (one xdist worker) share its local AWS's queues, and a second PurgeQueue within the minute fails."""
    last = _purged_at.get(queue_url)
    if last is not None:
        ready = last + PURGE_INTERVAL_SECONDS + 1
        poll(lambda: time.monotonic() >= ready, timeout=PURGE_INTERVAL_SECONDS + 5, interval=0.5, what="PurgeQueue")
    _purged_at[queue_url] = time.monotonic()


def settled_kpis() -> Any:
    """The last hour's counts once nothing runs and the local AWS has flushed its telemetry (it does every 5 s):
    two reads 6 s apart agree."""
    from backend import monitoring

    previous: list[Any] = []

    def settled() -> Any:
        kpis = monitoring.window_report(datetime.now(UTC) - timedelta(hours=1)).kpis
        same = bool(previous) and kpis == previous[-1] and kpis.running == 0
        previous.append(kpis)
        return kpis if same else None

    return poll(settled, timeout=90, interval=6, what="the metrics to settle")


def local_env_shell() -> dict[str, str]:
    """The environment of a shell after `eval "$(python -m backend local --env)"`, as the README shows it, without
    the test session's pointer to its own state folder: only the endpoint, credentials and stack name lead there."""
    script = f'eval "$({sys.executable} -m backend local --env)" && env -0'
    run = subprocess.run(["bash", "-c", script], cwd=PROJECT_ROOT, capture_output=True, check=True, timeout=120)
    pairs = (item.split("=", 1) for item in run.stdout.decode().split("\0") if "=" in item)
    environment = dict(pairs)
    environment.pop("ORDERS_LOCAL_STATE_DIR", None)
    return environment


def operator_caller() -> Any:
    """The caller the tests act as: an operator, so every guarded operation is allowed."""
    from backend.identity import Caller, Role

    return Caller(subject="pytest", email="pytest-operator@example.com", name="pytest", role=Role.OPERATOR)


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
    """A local AWS of this test session only (its own state folder, a free port), with the stack deployed from
    infra/template.yaml. Two settings differ from the demo, both through AWS's own APIs or the template's
    parameters: no batching window, and a 2 s visibility timeout so failed messages come back quickly."""
    from backend import aws
    from backend.settings import settings
    from localaws import instance

    for name in _APP_SETTINGS:
        os.environ.pop(name, None)
    os.environ.update(
        ORDERS_LOCAL_STATE_DIR=str(tmp_path_factory.mktemp("local-aws")),
        ORDERS_LOCAL_PORT="0",
        ORDERS_LOCAL_PARAMETERS="StartOrderBatchingWindowSeconds=0",
    )
    settings.cache_clear()
    aws.reset()
    connection = aws.connection()
    info = instance.running()
    assert info is not None
    aws.client("sqs").set_queue_attributes(
        QueueUrl=connection.resources.orders_queue_url,
        Attributes={"VisibilityTimeout": str(TEST_VISIBILITY_TIMEOUT)},
    )
    yield info
    instance.stop_running()
    aws.reset()
