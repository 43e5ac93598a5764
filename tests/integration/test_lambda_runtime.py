"""The local Lambda runtime through the Lambda API of the one endpoint: worker processes, isolation, cold and warm
starts, timeouts, crashes, concurrency, asynchronous invocation, SQS event sources and telemetry."""

from __future__ import annotations

import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backend import aws
from tests.conftest import metric_sum, poll


def invoke(lambda_api: Any, name: str, event: Any = None, **kwargs: Any) -> tuple[dict[str, Any], Any]:
    """Invoke synchronously; return the raw answer and the decoded payload."""
    answer = lambda_api.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode(), **kwargs)
    return answer, json.loads(answer["Payload"].read() or b"null")


def log_tail(answer: dict[str, Any]) -> str:
    return base64.b64decode(answer["LogResult"]).decode()


def test_invoke_returns_the_output_and_the_log_tail(lambda_api: Any, make_function: Any) -> None:
    name = make_function("echo")
    answer, body = invoke(lambda_api, name, {"n": 1}, LogType="Tail")
    assert answer["StatusCode"] == 200
    assert "FunctionError" not in answer
    assert answer["ResponseMetadata"]["RequestId"]
    assert (body["event"], body["function"]) == ({"n": 1}, name)
    assert 0 < body["remaining_ms"] <= 5000
    tail = log_tail(answer)
    assert f"echo says hello to {name}" in tail
    assert tail.startswith("START RequestId:")
    assert "REPORT RequestId:" in tail
    assert "Memory Size: 256 MB" in tail


def test_an_exception_is_an_unhandled_function_error_with_the_handler_frames(
    lambda_api: Any, make_function: Any
) -> None:
    answer, body = invoke(lambda_api, make_function("boom"))
    assert answer["FunctionError"] == "Unhandled"
    assert (body["errorType"], body["errorMessage"]) == ("ValueError", "the gateway is silent")
    assert body["stackTrace"]
    assert all("bootstrap.py" not in frame for frame in body["stackTrace"])


def test_each_function_sees_only_its_own_environment_and_module_state(lambda_api: Any, make_function: Any) -> None:
    first = make_function("echo", environment={"ONLY_FIRST": "1"})
    second = make_function("echo", environment={"ONLY_SECOND": "2"})
    _, a1 = invoke(lambda_api, first)
    _, a2 = invoke(lambda_api, first)
    _, b1 = invoke(lambda_api, second)
    assert a1["environment"]["ONLY_FIRST"] == "1"
    assert "ONLY_SECOND" not in a1["environment"]
    assert b1["environment"]["ONLY_SECOND"] == "2"
    assert "ONLY_FIRST" not in b1["environment"]
    # Nothing of the local AWS's own process leaks in; Lambda's own variables are there.
    for environment in (a1["environment"], b1["environment"]):
        assert not {"ORDERS_LOCAL_STATE_DIR", "ORDERS_LOCAL_PARAMETERS", "PYTEST_CURRENT_TEST"} & set(environment)
        assert environment["AWS_ENDPOINT_URL"] == aws.connection().endpoint_url
        assert environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert a1["environment"]["AWS_LAMBDA_FUNCTION_NAME"] == first
    # Module state is per worker process: the second call reused the first's worker, the other function did not.
    assert (a1["invocations"], a2["invocations"], b1["invocations"]) == (1, 2, 1)
    assert a1["pid"] == a2["pid"] != b1["pid"]


def test_first_invocation_of_a_worker_is_a_cold_start_and_the_next_is_warm(lambda_api: Any, make_function: Any) -> None:
    name = make_function("echo")
    cold, cold_body = invoke(lambda_api, name, LogType="Tail")
    warm, warm_body = invoke(lambda_api, name, LogType="Tail")
    assert "Init Duration:" in log_tail(cold)
    assert "Init Duration:" not in log_tail(warm)
    assert cold_body["pid"] == warm_body["pid"]
    # A configuration change means new environments, so the next invocation is cold again, with the new variable.
    lambda_api.update_function_configuration(FunctionName=name, Environment={"Variables": {"COLOUR": "blue"}})
    again, again_body = invoke(lambda_api, name, LogType="Tail")
    assert "Init Duration:" in log_tail(again)
    assert again_body["environment"]["COLOUR"] == "blue"
    assert again_body["pid"] != cold_body["pid"]


def test_a_timeout_stops_the_worker_with_lambdas_error(lambda_api: Any, make_function: Any) -> None:
    name = make_function("slow", timeout=1)
    started = time.monotonic()
    answer, body = invoke(lambda_api, name, {"seconds": 30}, LogType="Tail")
    assert time.monotonic() - started < 5
    assert answer["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    assert "Task timed out after 1.00 seconds" in log_tail(answer)
    # The next invocation gets a new environment: a cold start.
    answer, body = invoke(lambda_api, name, {"seconds": 0}, LogType="Tail")
    assert body == {"slept": True}
    assert "Init Duration:" in log_tail(answer)


@pytest.mark.parametrize("how", ["exit", "signal", "memory"])
def test_a_worker_that_dies_is_an_exit_error_and_is_replaced(lambda_api: Any, make_function: Any, how: str) -> None:
    name = make_function("die")
    answer, body = invoke(lambda_api, name, {"how": how}, LogType="Tail")
    assert answer["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert "Runtime exited with error" in body["errorMessage"]
    assert "about to die" in log_tail(answer)  # what it printed before dying is in its log
    lambda_api.update_function_configuration(FunctionName=name, Handler="handlers.echo")
    answer, body = invoke(lambda_api, name)
    assert "FunctionError" not in answer
    assert body["invocations"] == 1


def test_functions_run_concurrently_and_reserved_concurrency_throttles(lambda_api: Any, make_function: Any) -> None:
    name = make_function("slow", timeout=10)
    with ThreadPoolExecutor(2) as pool:
        started = time.monotonic()
        answers = list(pool.map(lambda _: invoke(lambda_api, name, {"seconds": 1.5})[1], range(2)))
        took = time.monotonic() - started
    assert answers == [{"slept": True}] * 2
    assert took < 2.9  # both ran at once, not one after the other
    lambda_api.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda _: _invoke_or_throttle(lambda_api, name), range(2)))
    assert sorted(outcomes) == ["ok", "throttled"]


def _invoke_or_throttle(lambda_api: Any, name: str) -> str:
    try:
        invoke(lambda_api, name, {"seconds": 1.5})
    except lambda_api.exceptions.TooManyRequestsException:
        return "throttled"
    return "ok"


def test_event_invocations_are_accepted_and_run(lambda_api: Any, make_function: Any) -> None:
    name = make_function("echo")
    answer = lambda_api.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"async": true}')
    assert answer["StatusCode"] == 202
    logs = aws.client("logs")

    def logged() -> bool:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}", filterPattern="hello")["events"]
        except logs.exceptions.ResourceNotFoundException:
            return False
        return bool(events)

    poll(logged, timeout=20, what="the asynchronous invocation's log")
    assert lambda_api.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204


def test_bad_requests_get_lambdas_errors(lambda_api: Any, make_function: Any) -> None:
    with pytest.raises(lambda_api.exceptions.ResourceNotFoundException, match="Function not found"):
        lambda_api.invoke(FunctionName="no-such-function", Payload=b"{}")
    with pytest.raises(lambda_api.exceptions.InvalidRequestContentException):
        lambda_api.invoke(FunctionName=make_function("echo"), Payload=b"{not json")


def _queue_with_dlq(name: str) -> tuple[str, str, str]:
    """A queue (1 s visibility) whose messages move to its DLQ after 2 receives: (url, arn, DLQ url)."""
    sqs = aws.client("sqs")
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "1", "RedrivePolicy": policy})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn, dlq


def _drained_into_dlq(queue: str, dlq: str, expected: list[str]) -> None:
    sqs = aws.client("sqs")
    landed: list[str] = []

    def all_landed() -> bool:
        landed.extend(m["Body"] for m in sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", []))
        return sorted(landed) == sorted(expected)

    poll(all_landed, timeout=30, what=f"{expected} in the DLQ")
    depth = sqs.get_queue_attributes(
        QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert depth == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


def test_an_sqs_event_source_deletes_what_succeeded_and_the_rest_reaches_the_dlq(
    lambda_api: Any, make_function: Any
) -> None:
    queue, queue_arn, dlq = _queue_with_dlq("runtime-partial")
    name = make_function("batch", timeout=1)
    slow = make_function("batch", timeout=5)
    # Lambda refuses a queue whose visibility timeout is shorter than the function's timeout.
    with pytest.raises(lambda_api.exceptions.InvalidParameterValueException, match="visibility timeout"):
        lambda_api.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=slow)
    mapping = lambda_api.create_event_source_mapping(
        EventSourceArn=queue_arn, FunctionName=name, BatchSize=5, FunctionResponseTypes=["ReportBatchItemFailures"]
    )
    for body in ("ok-1", "fail", "ok-2"):
        aws.client("sqs").send_message(QueueUrl=queue, MessageBody=body)
    _drained_into_dlq(queue, dlq, ["fail"])
    lambda_api.delete_event_source_mapping(UUID=mapping["UUID"])


def test_a_batch_whose_worker_dies_returns_to_the_queue(lambda_api: Any, make_function: Any) -> None:
    queue, queue_arn, dlq = _queue_with_dlq("runtime-crash")
    mapping = lambda_api.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=make_function("batch", 1))
    aws.client("sqs").send_message(QueueUrl=queue, MessageBody="crash")
    # Each delivery kills the worker; the message comes back after the visibility timeout, twice, then moves on.
    _drained_into_dlq(queue, dlq, ["crash"])
    lambda_api.delete_event_source_mapping(UUID=mapping["UUID"])


def test_invocations_are_in_cloudwatch_logs_and_metrics(lambda_api: Any, make_function: Any) -> None:
    name = make_function("emf")
    invoke(lambda_api, name)
    cloudwatch = aws.client("cloudwatch")
    poll(
        lambda: metric_sum(cloudwatch, "AWS/Lambda", "Invocations", {"FunctionName": name}) == 1,
        timeout=20,
        what="AWS/Lambda Invocations",
    )
    assert metric_sum(cloudwatch, "RuntimeTest", "Things", {"service": "runtime-test"}) == 3
    assert metric_sum(cloudwatch, "AWS/Lambda", "Errors", {"FunctionName": name}) == 0
    since = int((datetime.now(UTC) - timedelta(minutes=5)).timestamp() * 1000)
    events = aws.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{name}", startTime=since)["events"]
    messages = [event["message"] for event in events]
    assert messages[0].startswith("START RequestId:")
    assert any("Init Duration:" in message for message in messages if message.startswith("REPORT"))
