"""SQS (localaws.services.sqs): moto's semantics kept by the speed fixes, activity and gauges told, the Lambda poller,
messages journaled and restored, each correction in place once."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from localaws.services import patches
from localaws.services.sqs import activity
from localaws.services.sqs.gauges import queue_gauges
from localaws.services.sqs.poller import LambdaPoller
from localaws.services.sqs.provider import Sqs
from tests.unit.localaws.conftest import Instance, assert_applied_once, current, made_by

REGION = "us-east-1"


@pytest.fixture(scope="module", autouse=True)
def _corrected() -> None:
    patches.apply_all(Sqs.corrections)


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name=REGION)


def test_a_correction_applied_again_is_not_applied_twice() -> None:
    assert_applied_once(Sqs.corrections)
    # Two corrections on one target, each once, the journal's outside: it wraps what the others made.
    assert made_by(current("moto.sqs.models:SQSBackend.receive_message")) == [
        "SQS journal",
        "SQS activity hooks",
        "SQS message move tasks",
    ]
    assert made_by(current("moto.sqs.models:Queue.delete_message")) == ["SQS journal", "SQS delete by receipt handle"]
    assert {(a.correction, a.kind) for a in patches.applied()} == {(c.name, c.kind) for c in Sqs.corrections}


def test_sqs_sent_timestamp_iscurrent(sqs: Any) -> None:
    import moto.sqs.models as sqs_models
    from moto.core.utils import utcnow

    url = sqs.create_queue(QueueName="ts")["QueueUrl"]
    before = time.time() * 1000
    sqs.send_message(QueueUrl=url, MessageBody="x")
    after = time.time() * 1000
    message = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"])["Messages"][0]
    sent = int(message["Attributes"]["SentTimestamp"])
    first_receive = int(message["Attributes"]["ApproximateFirstReceiveTimestamp"])
    assert int(before) <= sent <= after + 1
    assert sent <= first_receive <= time.time() * 1000 + 1
    assert abs(sqs_models.unix_time_millis() - time.time() * 1000) < 5
    now = utcnow()
    assert sqs_models.unix_time_millis(now) == sqs_models.unix_time_millis.__wrapped__(now)  # type: ignore[attr-defined]


def test_sqs_retention_still_expires_old_messages(sqs: Any) -> None:
    from moto.sqs.models import sqs_backends

    url = sqs.create_queue(QueueName="keep60", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    backend = sqs_backends[DEFAULT_ACCOUNT_ID][REGION]
    queue = backend.get_queue("keep60")
    assert queue.message_retention_period == 60  # stored as an int, which the patch relies on

    sqs.send_message(QueueUrl=url, MessageBody="old")
    old = queue._messages[0]
    old.sent_timestamp -= 61_000
    check = backend.is_message_valid_based_on_retention_period
    original = type(backend).is_message_valid_based_on_retention_period.__wrapped__
    assert check("keep60", old) is False
    assert original(backend, "keep60", old) is False
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []

    sqs.set_queue_attributes(QueueUrl=url, Attributes={"MessageRetentionPeriod": "120"})
    assert check("keep60", old) is True
    assert original(backend, "keep60", old) is True
    sqs.send_message(QueueUrl=url, MessageBody="new")
    for offset_ms in (0, -119_000, -120_500, -300_000):
        queue._messages[-1].sent_timestamp = int(time.time() * 1000) + offset_ms
        assert check("keep60", queue._messages[-1]) == original(backend, "keep60", queue._messages[-1])


def test_sqs_counts_round_trip_25_messages(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="work")["QueueUrl"]
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=f"single-{i}")
    for batch in range(2):
        entries = [{"Id": str(i), "MessageBody": f"batch-{batch}-{i}"} for i in range(10)]
        assert len(sqs.send_message_batch(QueueUrl=url, Entries=entries)["Successful"]) == 10

    def counts() -> tuple[int, int, int]:
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return tuple(int(attrs[name]) for name in names)  # type: ignore[return-value]

    assert counts() == (25, 0, 0)
    received: dict[str, str] = {}
    for _ in range(10):
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
        received.update({m["Body"]: m["ReceiptHandle"] for m in batch.get("Messages", [])})
        if len(received) == 25:
            break
    assert len(received) == 25
    assert counts() == (0, 25, 0)
    for handle in received.values():
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    assert counts() == (0, 0, 0)


def test_sqs_deletes_find_their_message_and_stale_handles_are_refused(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="deep")["QueueUrl"]
    for start_at in range(0, 300, 10):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(start_at + i)} for i in range(10)]
        )
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=0)["Messages"][0]
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)["Messages"]
    assert first["Body"] in {m["Body"] for m in again}  # visible again at once, received again
    bodies: set[str] = set()
    for message in again:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])  # twice: no error, as on AWS
        bodies.add(message["Body"])
    # The first receipt's handle is of the same (now deleted) message: also accepted.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages"):
        for message in batch:
            assert message["Body"] not in bodies  # nothing is delivered twice
            bodies.add(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert bodies == {str(i) for i in range(300)}
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"]) == (
        "0",
        "0",
    )
    assert attributes["QueueArn"].endswith(":deep")


@pytest.mark.parametrize("fifo", [False, True], ids=["standard", "fifo"])
def test_lambda_poller_receives_what_receive_message_answers_and_deletes(sqs: Any, fifo: bool) -> None:
    name = "poller.fifo" if fifo else "poller"
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.send_message(
        QueueUrl=url,
        MessageBody='{"order": 1}',
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}},
        MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-abc"}},
        **({"MessageGroupId": "g"} if fifo else {}),
    )
    (first,) = sqs.receive_message(
        QueueUrl=url, MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"], VisibilityTimeout=0
    )["Messages"]

    (polled,) = LambdaPoller().receive(arn, 10, 0)

    assert polled["ReceiptHandle"] != first["ReceiptHandle"]
    assert polled["Attributes"]["ApproximateReceiveCount"] == "2"
    expected = first | {
        "ReceiptHandle": polled["ReceiptHandle"],
        "Attributes": first["Attributes"] | {"ApproximateReceiveCount": "2"},
    }
    assert polled == expected
    LambdaPoller().delete(arn, [polled["ReceiptHandle"], "no-longer-valid"])
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    left = (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"])
    assert left == ("0", "0")


# --- the provider: activity and gauges to the telemetry, messages journaled and restored --------------------------


@pytest.fixture
def instance(started: Callable[..., Instance]) -> Instance:
    """The SQS service started on a journal, with the stack's orders queue."""
    running = started([Sqs()], deploy=lambda: boto3.client("sqs", region_name=REGION).create_queue(QueueName="orders"))
    running.url = boto3.client("sqs", region_name=REGION).get_queue_url(QueueName="orders")["QueueUrl"]  # type: ignore[attr-defined]
    return running


def test_activity_and_gauges_reach_the_telemetry_as_aws_sqs_metrics(instance: Instance) -> None:
    client = boto3.client("sqs", region_name=REGION)
    client.send_message_batch(QueueUrl=instance.url, Entries=[{"Id": str(n), "MessageBody": "m"} for n in range(3)])
    (received,) = client.receive_message(QueueUrl=instance.url)["Messages"]
    client.delete_message(QueueUrl=instance.url, ReceiptHandle=received["ReceiptHandle"])
    counted = [(name, value, dimensions) for namespace, name, value, unit, dimensions, _ in instance.telemetry.samples]
    orders = {"QueueName": "orders"}
    assert counted == [("NumberOfMessagesSent", 1, orders)] * 3 + [
        ("NumberOfMessagesReceived", 1, orders),
        ("NumberOfMessagesDeleted", 1, orders),
    ]
    assert {sample[0] for sample in instance.telemetry.samples} == {"AWS/SQS"}

    instance.telemetry.samples.clear()
    now = time.time() + 30
    instance.service.housekeep(now, instance.options)
    gauges = {(name, unit): value for _, name, value, unit, dimensions, at in instance.telemetry.samples}
    assert {dimensions["QueueName"] for *_, dimensions, _ in instance.telemetry.samples} == {"orders"}
    assert {at for *_, at in instance.telemetry.samples} == {now}
    assert gauges[("ApproximateNumberOfMessagesVisible", "Count")] == 2
    assert 30 <= gauges[("ApproximateAgeOfOldestMessage", "Seconds")] < 40
    assert queue_gauges(now)["orders"][1] == ("ApproximateNumberOfMessagesVisible", 2, "Count")

    instance.service.stop()  # unsubscribed: a stopped service tells nobody
    instance.telemetry.samples.clear()
    client.send_message(QueueUrl=instance.url, MessageBody="m")
    assert instance.telemetry.samples == []
    assert activity._callbacks == []


def test_messages_and_attributes_set_come_back_after_a_restart(instance: Instance) -> None:
    client = boto3.client("sqs", region_name=REGION)
    in_flight = client.send_message(QueueUrl=instance.url, MessageBody="in flight")["MessageId"]
    waiting = client.send_message(QueueUrl=instance.url, MessageBody="waiting")["MessageId"]
    done = client.send_message(QueueUrl=instance.url, MessageBody="done")["MessageId"]
    (received,) = client.receive_message(QueueUrl=instance.url, MaxNumberOfMessages=1, VisibilityTimeout=0)["Messages"]
    assert received["MessageId"] == in_flight
    client.change_message_visibility(
        QueueUrl=instance.url, ReceiptHandle=received["ReceiptHandle"], VisibilityTimeout=60
    )
    visible = client.receive_message(QueueUrl=instance.url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    (last,) = [m for m in visible if m["MessageId"] == done]
    client.delete_message(QueueUrl=instance.url, ReceiptHandle=last["ReceiptHandle"])
    client.set_queue_attributes(QueueUrl=instance.url, Attributes={"VisibilityTimeout": "7", "DelaySeconds": "1"})
    client.set_queue_attributes(QueueUrl=instance.url, Attributes={"DelaySeconds": "0"})

    assert instance.restart() == {"messages": 2, "messages_without_queue": 0, "move_tasks": 0}
    client = boto3.client("sqs", region_name=REGION)
    attributes = client.get_queue_attributes(QueueUrl=instance.url, AttributeNames=["All"])["Attributes"]
    assert (attributes["VisibilityTimeout"], attributes["DelaySeconds"]) == ("7", "0")
    assert (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"]) == (
        "1",
        "1",
    )
    (back,) = client.receive_message(QueueUrl=instance.url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert (back["MessageId"], back["Body"], back["Attributes"]["ApproximateReceiveCount"]) == (waiting, "waiting", "2")

    client.purge_queue(QueueUrl=instance.url)
    assert instance.restart()["messages"] == 0


def test_an_empty_redrive_policy_removes_it_and_unset_policies_are_not_answered(sqs: Any) -> None:
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})
    url = sqs.create_queue(QueueName="source", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    assert json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["RedrivePolicy"])
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": ""})
    answered = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert "RedrivePolicy" not in answered
    assert "Policy" not in answered
