"""The local Lambda runtime, its Invoke API, the SQS event source's failure handling and telemetry."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3
import pytest
from botocore.config import Config

from backend.local.event_source import failed_message_ids
from backend.local.functions import FunctionSpec
from backend.local.lambda_runtime import InvocationResult, LocalLambdaRuntime
from backend.local.telemetry import Telemetry
from tests.conftest import metric_sum, poll

ECHO = FunctionSpec("echo", "tests.unit.fake_handlers.echo", 2)
BOOM = FunctionSpec("boom", "tests.unit.fake_handlers.boom", 2)
SLOW = FunctionSpec("slow", "tests.unit.fake_handlers.slow", 1)
EMF = FunctionSpec("emf", "tests.unit.fake_handlers.emf", 2)


@pytest.fixture
def runtime() -> Any:
    recorded: list[InvocationResult] = []
    runtime = LocalLambdaRuntime((ECHO, BOOM, SLOW, EMF), on_invocation=recorded.append)
    runtime.recorded = recorded
    yield runtime
    runtime.close()


def test_success_returns_the_handler_output_and_captures_its_prints(runtime: Any) -> None:
    result = runtime.invoke(ECHO, b'{"n": 1}')
    assert result.function_error is None
    assert json.loads(result.payload) == {"echo": {"n": 1}, "function": "echo"}
    assert result.log_lines == ["echo says hello"]
    assert runtime.recorded == [result]


def test_an_exception_becomes_an_unhandled_function_error(runtime: Any) -> None:
    result = runtime.invoke(BOOM, b"{}")
    assert result.function_error == "Unhandled"
    body = json.loads(result.payload)
    assert (body["errorType"], body["errorMessage"]) == ("PaymentGatewayTimeout", "gateway silent")
    assert body["stackTrace"]


def test_a_handler_past_its_timeout_is_reported_as_sandbox_timedout(runtime: Any) -> None:
    started = time.monotonic()
    result = runtime.invoke(SLOW, b"{}")
    assert time.monotonic() - started < 2.5
    assert result.function_error == "Unhandled"
    assert json.loads(result.payload)["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in result.log_lines[-1]


def test_invoke_api_speaks_lambda_to_boto3(runtime: Any) -> None:
    endpoint = runtime.serve()
    client = boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 0}),
    )
    ok = client.invoke(FunctionName="arn:aws:lambda:us-east-1:123456789012:function:echo", Payload=b'{"a": 2}')
    assert json.loads(ok["Payload"].read())["echo"] == {"a": 2}
    assert ok["ResponseMetadata"]["RequestId"]
    failed = client.invoke(FunctionName="boom", Payload=b"{}")
    assert failed["FunctionError"] == "Unhandled"
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="nope", Payload=b"{}")


def test_waiting_too_long_for_the_environment_is_a_throttle(runtime: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from backend.local import lambda_runtime

    monkeypatch.setattr(lambda_runtime, "THROTTLE_AFTER_SECONDS", 0.2)
    client = boto3.client(
        "lambda",
        endpoint_url=runtime.serve(),
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 0}),
    )
    busy = threading.Thread(target=runtime.invoke, args=(SLOW, b"{}"))
    busy.start()
    poll(lambda: runtime._environment.locked(), timeout=5, what="the slow handler to hold the environment")
    assert runtime.invoke(ECHO, b"{}") is None
    with pytest.raises(client.exceptions.TooManyRequestsException):
        client.invoke(FunctionName="echo", Payload=b"{}")
    busy.join()
    # The timed-out handler keeps its environment until it really returns; then invocations go through again.
    poll(lambda: not runtime._environment.locked(), timeout=5, what="the environment to be free")
    assert runtime.invoke(ECHO, b"{}").function_error is None


def test_event_source_keeps_only_what_failed() -> None:
    batch = [{"MessageId": "a"}, {"MessageId": "b"}]
    assert failed_message_ids(batch, b'{"batchItemFailures": [{"itemIdentifier": "b"}]}', None) == {"b"}
    assert failed_message_ids(batch, b'{"batchItemFailures": []}', None) == set()
    assert failed_message_ids(batch, b"{}", "Unhandled") == {"a", "b"}
    assert failed_message_ids(batch, b"not json", None) == {"a", "b"}


@pytest.fixture
def cloudwatch(monkeypatch: pytest.MonkeyPatch) -> Any:
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("logs"), boto3.client("cloudwatch")


def statistic(cloudwatch: Any, namespace: str, name: str, dimensions: dict[str, str], stat: str = "Sum") -> float:
    return metric_sum(cloudwatch, namespace, name, dimensions, stat, minutes=5)


def test_telemetry_turns_invocations_and_emf_into_cloudwatch_data(runtime: Any, cloudwatch: Any) -> None:
    logs, metrics = cloudwatch
    telemetry = Telemetry(logs, metrics)
    for _ in range(3):
        telemetry.record_invocation(runtime.invoke(EMF, b"{}"))
    telemetry.record_invocation(runtime.invoke(BOOM, b"{}"))
    telemetry.flush()
    assert statistic(metrics, "AWS/Lambda", "Invocations", {"FunctionName": "emf"}) == 3
    assert statistic(metrics, "AWS/Lambda", "Errors", {"FunctionName": "boom"}) == 1
    assert statistic(metrics, "AWS/Lambda", "Errors", {"FunctionName": "emf"}) == 0
    assert statistic(metrics, "AWS/Lambda", "Duration", {"FunctionName": "emf"}, "SampleCount") == 3
    assert statistic(metrics, "Shop", "OrdersStarted", {"service": "orders"}) == 6
    stream = logs.describe_log_streams(logGroupName="/aws/lambda/emf")["logStreams"][0]["logStreamName"]
    lines = [e["message"] for e in logs.get_log_events(logGroupName="/aws/lambda/emf", logStreamName=stream)["events"]]
    assert lines[0].startswith("START RequestId:")
    assert sum(line.startswith("REPORT RequestId:") for line in lines) == 3


def test_execution_metrics_are_recorded_like_aws_states(cloudwatch: Any) -> None:
    logs, metrics = cloudwatch
    telemetry = Telemetry(logs, metrics)
    now = time.time()
    telemetry.record_execution_started("arn:sm", now)
    telemetry.record_execution_finished("arn:sm", "FAILED", now, now + 0.25)
    telemetry.flush()
    dimensions = {"StateMachineArn": "arn:sm"}
    assert statistic(metrics, "AWS/States", "ExecutionsStarted", dimensions) == 1
    assert statistic(metrics, "AWS/States", "ExecutionsFailed", dimensions) == 1
    assert statistic(metrics, "AWS/States", "ExecutionsSucceeded", dimensions) == 0
    assert statistic(metrics, "AWS/States", "ExecutionTime", dimensions) == pytest.approx(250)
