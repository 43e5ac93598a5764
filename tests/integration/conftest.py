"""Integration fixtures: AWS clients of the session's local AWS, and test functions created through its Lambda API."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from backend import aws
from localaws import chaos
from tests.conftest import _APP_SETTINGS

FUNCTIONS_DIR = Path(__file__).with_name("functions")


@pytest.fixture
def own_local_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A local AWS of this test only (it gets killed or reset): its own state folder and port; the session's is left
    alone."""
    from backend.settings import settings
    from localaws import instance

    for name in _APP_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ORDERS_LOCAL_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("ORDERS_LOCAL_PORT", "0")
    monkeypatch.setenv("ORDERS_LOCAL_PARAMETERS", "StartOrderBatchingWindowSeconds=0")
    settings.cache_clear()
    aws.reset()
    try:
        yield tmp_path
    finally:
        instance.stop_running()
        monkeypatch.undo()
        settings.cache_clear()
        aws.reset()


ChaosRules = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


@pytest.fixture
def chaos_rules(local_aws: Any) -> Iterator[ChaosRules]:
    """A function that replaces the session local AWS's fault rules (its chaos API, as LocalStack's) and returns them
    as it lists them; none are left after the test. A rule: {"service": "logs", "operation": "PutLogEvents",
    "error": {"code": "ServiceUnavailable", "statusCode": 503}}."""

    def set_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return chaos.set_rules(aws.connection().endpoint_url or "", rules)

    try:
        yield set_rules
    finally:
        set_rules([])


@pytest.fixture(scope="session")
def lambda_api(local_aws: Any) -> Any:
    """The Lambda client of the session's local AWS, without retries (a throttle must show)."""
    import boto3
    from botocore.config import Config

    from localaws import instance

    connection, own = aws.connection(), instance.credentials()
    return boto3.client(
        "lambda",
        endpoint_url=connection.endpoint_url,
        region_name=connection.region,
        aws_access_key_id=own.access_key_id,
        aws_secret_access_key=own.secret_access_key,
        config=Config(retries={"max_attempts": 0}, read_timeout=60),
    )


LAMBDA_TRUST = {
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
}


@pytest.fixture(scope="session")
def test_role(local_aws: Any) -> str:
    """An execution role for test functions: it may poll the test queues (runtime-*), as an SQS event source must."""
    iam = aws.client("iam")
    role = iam.create_role(RoleName="runtime-tests", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]
    poll_test_queues = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                "Resource": "arn:aws:sqs:*:*:runtime-*",
            }
        ],
    }
    iam.put_role_policy(RoleName="runtime-tests", PolicyName="poll", PolicyDocument=json.dumps(poll_test_queues))
    return str(role["Arn"])


def _code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(FUNCTIONS_DIR / "handlers.py", "handlers.py")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def make_function(lambda_api: Any, test_role: str) -> Callable[..., str]:
    """Create a function running tests/integration/functions/handlers.py; return its name."""
    code = _code()

    def make(
        handler: str, timeout: int = 5, environment: dict[str, str] | None = None, role: str = "", **extra: Any
    ) -> str:
        name = f"{handler}-{uuid.uuid4().hex[:8]}"
        lambda_api.create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=role or test_role,
            Handler=f"handlers.{handler}",
            Code={"ZipFile": code},
            Timeout=timeout,
            MemorySize=256,
            Environment={"Variables": environment or {}},
            **extra,
        )
        return name

    return make
