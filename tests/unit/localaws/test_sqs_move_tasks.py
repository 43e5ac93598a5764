"""SQS message move tasks (localaws.services.sqs.moveapi, movetasks): DLQ redrives as AWS documents them."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as SigningKeys
from botocore.exceptions import ClientError
from moto import mock_aws, settings

from localaws import credentials
from localaws.boundary import Boundary
from localaws.config import ACCOUNT_ID, REGION
from localaws.credentials import Credentials
from localaws.gateway import Gateway
from localaws.reset import Reset
from localaws.services import patches, registry
from localaws.services.iam import principals
from localaws.services.sqs import movetasks
from localaws.services.sqs.movetasks import tasks
from localaws.services.sqs.provider import Sqs
from tests.unit.localaws.conftest import Instance, assert_applied_once, current, made_by

ATTRIBUTES = {"kind": {"DataType": "String", "StringValue": "order"}, "n": {"DataType": "Number", "StringValue": "7"}}
TRACE = {"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793"}}


@pytest.fixture(scope="module", autouse=True)
def _corrected() -> None:
    patches.apply_all(Sqs.corrections)


@pytest.fixture(autouse=True)
def _no_task_outlives_its_test() -> Iterator[None]:
    tasks.open()
    yield
    tasks.close()
    tasks.forget()
    tasks.open()


def arn(url: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{url.rsplit('/', 1)[-1]}"


def redriving_to(dlq_url: str) -> dict[str, str]:
    """Attributes of a queue whose messages go to the DLQ after one receive."""
    return {"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn(dlq_url), "maxReceiveCount": 1})}


def deploy() -> None:
    """The queues a stack would make: two queues share one DLQ, and a queue that is no one's."""
    sqs = boto3.client("sqs", region_name=REGION)
    dlq = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
    for name in ("orders", "payments"):
        sqs.create_queue(QueueName=name, Attributes=redriving_to(dlq))
    sqs.create_queue(QueueName="elsewhere")


@pytest.fixture
def instance(started: Callable[..., Instance]) -> Instance:
    return started([Sqs()], deploy=deploy)


@pytest.fixture
def sqs(instance: Instance) -> Any:
    return boto3.client("sqs", region_name=REGION)


def url(sqs: Any, name: str) -> str:
    return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])


def dead_letter(sqs: Any, queue: str, bodies: list[str], **send: Any) -> None:
    """Send the bodies to the queue and receive them until its redrive policy has moved them all to its DLQ."""
    queue_url = url(sqs, queue)
    for body in bodies:
        sqs.send_message(
            QueueUrl=queue_url, MessageBody=body, MessageAttributes=ATTRIBUTES, MessageSystemAttributes=TRACE, **send
        )
    for _ in range(10 * len(bodies)):
        if not sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages"):
            return
    raise AssertionError(f"{queue} kept messages a receive should have dead-lettered")


def drain(sqs: Any, queue: str) -> list[dict[str, Any]]:
    """Every message the queue holds now, received with all their attributes and deleted."""
    drained: list[dict[str, Any]] = []
    queue_url = url(sqs, queue)
    while batch := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30, MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    ).get("Messages"):  # fmt: skip
        drained += batch
        for message in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return drained


def depth(sqs: Any, queue: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url(sqs, queue), AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def wait_for(condition: Callable[[], Any], seconds: float = 15) -> Any:
    """condition()'s first truthy value, polled for at most seconds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.02)
    raise AssertionError(f"not within {seconds} s: {condition}")


def newest(sqs: Any, source: str) -> dict[str, Any]:
    return dict(sqs.list_message_move_tasks(SourceArn=source)["Results"][0])


def finished(sqs: Any, source: str, status: str = "COMPLETED") -> dict[str, Any]:
    """The newest task of the source once it has that status."""
    return wait_for(lambda: (entry := newest(sqs, source))["Status"] == status and entry)  # type: ignore[no-any-return]


def error_of(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def test_each_correction_is_in_place_once() -> None:
    assert_applied_once(Sqs.corrections)
    assert made_by(current("moto.sqs.models:Queue.add_message")) == ["SQS journal", "SQS message move tasks"]
    assert made_by(current("moto.sqs.responses:SQSResponse._determine_resource")) == ["SQS message move tasks"]


def test_a_task_handle_is_the_task_id_and_source_arn_in_base64_json() -> None:
    handle = movetasks.encode_handle("10f57157-fc38-4da9-a113-4de7e12d05dd", "arn:aws:sqs:us-east-1:1:dlq")
    assert json.loads(base64.b64decode(handle)) == {
        "taskId": "10f57157-fc38-4da9-a113-4de7e12d05dd",
        "sourceArn": "arn:aws:sqs:us-east-1:1:dlq",
    }
    assert movetasks.decode_handle(handle) == ("10f57157-fc38-4da9-a113-4de7e12d05dd", "arn:aws:sqs:us-east-1:1:dlq")
    for wrong in ("foobared", base64.b64encode(b"[1]").decode(), base64.b64encode(b'{"taskId": 1}').decode()):
        with pytest.raises(ValueError, match="not a task handle"):
            movetasks.decode_handle(wrong)


def test_a_task_moves_every_message_with_its_body_and_attributes(sqs: Any) -> None:
    dlq, elsewhere = arn(url(sqs, "orders-dlq")), arn(url(sqs, "elsewhere"))
    dead_letter(sqs, "orders", ["a", "b", "c"])
    before = int(time.time() * 1000)
    handle = sqs.start_message_move_task(SourceArn=dlq, DestinationArn=elsewhere)["TaskHandle"]
    assert movetasks.decode_handle(handle)[1] == dlq

    entry = finished(sqs, dlq)
    assert entry.pop("StartedTimestamp") in range(before, int(time.time() * 1000) + 1)
    # Completed: no handle any more; no rate, since none was given (AWS answers only what the start named).
    assert entry == {
        "SourceArn": dlq, "DestinationArn": elsewhere, "Status": "COMPLETED",
        "ApproximateNumberOfMessagesMoved": 3, "ApproximateNumberOfMessagesToMove": 3,
    }  # fmt: skip
    moved = drain(sqs, "elsewhere")
    assert sorted(message["Body"] for message in moved) == ["a", "b", "c"]
    for message in moved:
        assert message["MessageAttributes"] == ATTRIBUTES
        assert message["Attributes"]["AWSTraceHeader"] == TRACE["AWSTraceHeader"]["StringValue"]
        assert message["Attributes"]["ApproximateReceiveCount"] == "1"  # a new message, as AWS redrives
    assert depth(sqs, "orders-dlq") == depth(sqs, "orders") == 0


def test_without_a_destination_each_message_returns_to_the_queue_it_left(sqs: Any) -> None:
    dlq = arn(url(sqs, "orders-dlq"))
    dead_letter(sqs, "orders", ["order-1", "order-2"])
    dead_letter(sqs, "payments", ["payment-1"])

    sqs.start_message_move_task(SourceArn=dlq)

    assert "DestinationArn" not in finished(sqs, dlq)
    assert sorted(m["Body"] for m in drain(sqs, "orders")) == ["order-1", "order-2"]
    assert [m["Body"] for m in drain(sqs, "payments")] == ["payment-1"]


def test_a_fifo_dead_letter_queue_returns_messages_with_their_group(sqs: Any) -> None:
    dlq = sqs.create_queue(QueueName="jobs-dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    fifo = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    sqs.create_queue(QueueName="jobs.fifo", Attributes=fifo | redriving_to(dlq))
    for body in ("first", "second"):  # one at a time: moto holds back a group's message while another is in flight
        dead_letter(sqs, "jobs.fifo", [body], MessageGroupId="customer-1")
    assert error_of(lambda: sqs.start_message_move_task(SourceArn=arn(dlq), DestinationArn=arn(url(sqs, "orders"))))[
        1
    ].startswith("The destination queue must be of the same type")

    sqs.start_message_move_task(SourceArn=arn(dlq))

    finished(sqs, arn(dlq))
    back = drain(sqs, "jobs.fifo")
    assert [(m["Body"], m["Attributes"]["MessageGroupId"]) for m in back] == [
        ("first", "customer-1"),
        ("second", "customer-1"),
    ]


def test_the_rate_is_kept(sqs: Any) -> None:
    dlq = arn(url(sqs, "orders-dlq"))
    dead_letter(sqs, "orders", ["a", "b", "c"])

    sqs.start_message_move_task(SourceArn=dlq, MaxNumberOfMessagesPerSecond=1)

    # One message a second: when the first has moved, the task is still running, the others still to move.
    first = wait_for(lambda: (entry := newest(sqs, dlq))["ApproximateNumberOfMessagesMoved"] >= 1 and entry)
    assert (first["Status"], first["ApproximateNumberOfMessagesMoved"], first["MaxNumberOfMessagesPerSecond"]) == (
        "RUNNING",
        1,
        1,
    )
    assert first["TaskHandle"]
    assert finished(sqs, dlq)["ApproximateNumberOfMessagesMoved"] == 3
    assert len(drain(sqs, "orders")) == 3


def test_only_one_task_runs_per_source(sqs: Any) -> None:
    dlq = arn(url(sqs, "orders-dlq"))
    dead_letter(sqs, "orders", ["a", "b", "c"])
    handle = sqs.start_message_move_task(SourceArn=dlq, MaxNumberOfMessagesPerSecond=1)["TaskHandle"]

    assert error_of(lambda: sqs.start_message_move_task(SourceArn=dlq)) == (
        "InvalidParameterValue",
        "There is already a task running. Only one active task is allowed for a source queue arn at a given time.",
    )
    sqs.cancel_message_move_task(TaskHandle=handle)
    finished(sqs, dlq, "CANCELLED")
    sqs.start_message_move_task(SourceArn=dlq)  # once that one is over, another may start
    assert finished(sqs, dlq)["ApproximateNumberOfMessagesMoved"] + len(drain(sqs, "orders-dlq")) <= 3


def test_what_aws_refuses_is_refused(sqs: Any) -> None:
    dlq, orders = arn(url(sqs, "orders-dlq")), arn(url(sqs, "orders"))
    missing = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:no-such-queue"
    start, listed, cancel = sqs.start_message_move_task, sqs.list_message_move_tasks, sqs.cancel_message_move_task
    invalid, not_found = "InvalidParameterValue", "ResourceNotFoundException"
    fmt = "arn:<partition>:<service>:<region>:<account-id>:<resource-id>"
    no_source = "The resource that you specified for the SourceArn parameter doesn't exist."
    between = "is invalid. Reason: You must enter a number that's between 1 and"
    refused = {
        "not a DLQ": (lambda: start(SourceArn=orders), invalid,
                      "Source queue must be configured as a Dead Letter Queue."),
        "no source": (lambda: start(SourceArn=missing), not_found, no_source),
        "not an ARN": (lambda: start(SourceArn="dlq"), invalid,
                       f"You must use this format to specify the SourceArn: {fmt}"),
        "no destination": (lambda: start(SourceArn=dlq, DestinationArn=missing), not_found,
                           "The resource that you specified for the DestinationArn parameter doesn't exist."),
        "itself": (lambda: start(SourceArn=dlq, DestinationArn=dlq), invalid,
                   "Source queue arn and destination queue arn cannot be the same."),
        "rate": (lambda: start(SourceArn=dlq, MaxNumberOfMessagesPerSecond=501), invalid,
                 f"Value for parameter MaxNumberOfMessagesPerSecond {between} 500."),
        "list 11": (lambda: listed(SourceArn=dlq, MaxResults=11), invalid,
                    f"Value for parameter MaxResults {between} 10."),
        "list none": (lambda: listed(SourceArn=missing), not_found, no_source),
        "handle": (lambda: cancel(TaskHandle="foobared"), invalid, "Value for parameter TaskHandle is invalid."),
        "handle's queue": (lambda: cancel(TaskHandle=movetasks.encode_handle("t", missing)), not_found, no_source),
        "handle's task": (lambda: cancel(TaskHandle=movetasks.encode_handle("t", dlq)), not_found,
                          "Task does not exist."),
    }  # fmt: skip
    assert {case: error_of(call) for case, (call, *_) in refused.items()} == {
        case: (code, message) for case, (_, code, message) in refused.items()
    }
    assert listed(SourceArn=orders)["Results"] == []  # a queue without tasks lists none
    with pytest.raises(ClientError) as raised:
        start(SourceArn=missing)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404  # as AWS answers a missing resource


def test_a_cancelled_task_moves_no_more_even_after_a_restart(instance: Instance, sqs: Any) -> None:
    dlq = arn(url(sqs, "orders-dlq"))
    dead_letter(sqs, "orders", [str(n) for n in range(5)])
    handle = sqs.start_message_move_task(SourceArn=dlq, MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    wait_for(lambda: newest(sqs, dlq)["ApproximateNumberOfMessagesMoved"] >= 1)

    answered = sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]

    cancelled = finished(sqs, dlq, "CANCELLED")
    moved = cancelled["ApproximateNumberOfMessagesMoved"]
    assert 1 <= answered <= moved < 5
    assert "TaskHandle" not in cancelled
    assert (depth(sqs, "orders"), depth(sqs, "orders-dlq")) == (moved, 5 - moved)
    assert error_of(lambda: sqs.cancel_message_move_task(TaskHandle=handle)) == (
        "InvalidParameterValue",
        "Only a RUNNING task can be cancelled; this one is CANCELLED.",
    )
    assert instance.restart()["move_tasks"] == 1
    instance.service.ready()
    sqs = boto3.client("sqs", region_name=REGION)
    assert newest(sqs, dlq) == cancelled
    assert (depth(sqs, "orders"), depth(sqs, "orders-dlq")) == (moved, 5 - moved)


def test_the_history_lists_the_newest_first(sqs: Any) -> None:
    dlq = arn(url(sqs, "orders-dlq"))
    for rate in (1, 2, 3):
        sqs.start_message_move_task(SourceArn=dlq, MaxNumberOfMessagesPerSecond=rate)
        finished(sqs, dlq)  # nothing to move: done at once

    history = sqs.list_message_move_tasks(SourceArn=dlq, MaxResults=10)["Results"]

    assert [entry["MaxNumberOfMessagesPerSecond"] for entry in history] == [3, 2, 1]
    assert [entry["StartedTimestamp"] for entry in history] == sorted(
        (entry["StartedTimestamp"] for entry in history), reverse=True
    )
    assert {entry["Status"] for entry in history} == {"COMPLETED"}
    assert [e["MaxNumberOfMessagesPerSecond"] for e in sqs.list_message_move_tasks(SourceArn=dlq)["Results"]] == [3]


def test_a_deleted_destination_fails_the_task_and_keeps_the_rest(sqs: Any) -> None:
    dlq = arn(url(sqs, "orders-dlq"))
    dead_letter(sqs, "orders", ["a", "b", "c"])
    sqs.start_message_move_task(
        SourceArn=dlq, DestinationArn=arn(url(sqs, "elsewhere")), MaxNumberOfMessagesPerSecond=1
    )
    wait_for(lambda: newest(sqs, dlq)["ApproximateNumberOfMessagesMoved"] >= 1)

    sqs.delete_queue(QueueUrl=url(sqs, "elsewhere"))

    failed = finished(sqs, dlq, "FAILED")
    assert failed["FailureReason"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert depth(sqs, "orders-dlq") == 3 - failed["ApproximateNumberOfMessagesMoved"]


def test_a_running_task_goes_on_after_a_restart(instance: Instance, sqs: Any) -> None:
    dlq = arn(url(sqs, "orders-dlq"))
    dead_letter(sqs, "orders", ["a", "b"])
    dead_letter(sqs, "payments", ["c"])  # two queues name the DLQ: each message's own source is what is journaled
    sqs.start_message_move_task(SourceArn=dlq, MaxNumberOfMessagesPerSecond=1)
    wait_for(lambda: newest(sqs, dlq)["ApproximateNumberOfMessagesMoved"] >= 1)

    restored = instance.restart()
    sqs = boto3.client("sqs", region_name=REGION)
    assert restored["move_tasks"] == 1
    running = newest(sqs, dlq)
    assert (running["Status"], running["ApproximateNumberOfMessagesToMove"]) == ("RUNNING", 3)
    instance.service.ready()  # as the server does once every service is restored

    assert finished(sqs, dlq)["ApproximateNumberOfMessagesMoved"] == 3
    assert sorted(m["Body"] for m in drain(sqs, "orders")) == ["a", "b"]  # each moved once
    assert [m["Body"] for m in drain(sqs, "payments")] == ["c"]
    assert depth(sqs, "orders-dlq") == 0
    assert instance.on_disk("SELECT status, moved FROM move_tasks") == [("COMPLETED", 3)]


def test_a_reset_stops_every_task_and_forgets_it(instance: Instance, sqs: Any) -> None:
    dlq = arn(url(sqs, "orders-dlq"))
    dead_letter(sqs, "orders", ["a", "b", "c"])
    sqs.start_message_move_task(SourceArn=dlq, MaxNumberOfMessagesPerSecond=1)
    wait_for(lambda: newest(sqs, dlq)["ApproximateNumberOfMessagesMoved"] >= 1)

    assert Reset(credentials.generate(), instance.services).reset() == []

    assert not any(thread.name == "sqs-move-tasks" for thread in threading.enumerate())
    assert instance.on_disk("SELECT * FROM move_tasks") == []
    deploy()  # the same queues again: no task of theirs is left, none moves, another may start
    assert sqs.list_message_move_tasks(SourceArn=dlq, MaxResults=10)["Results"] == []
    dead_letter(sqs, "orders", ["d"])
    sqs.start_message_move_task(SourceArn=dlq)
    assert finished(sqs, dlq)["ApproximateNumberOfMessagesMoved"] == 1
    assert instance.restart()["move_tasks"] == 1  # only the task started since


# --- IAM and the query protocol, through the endpoint ------------------------------------------------


@pytest.fixture
def own(monkeypatch: pytest.MonkeyPatch) -> Iterator[Credentials]:
    """moto in-process with IAM enforced, this process signing as the instance's administrator."""
    registry.apply()
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    made = credentials.generate()
    for name, value in made.environment().items():
        monkeypatch.setenv(name, value)
    with mock_aws(config={"core": {"mock_credentials": False}}):
        principals.register_admin(made)
        monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
        deploy()
        yield made


def allowed_only(actions: list[str], resource: str) -> dict[str, str]:
    """Credentials of a new IAM user allowed those actions on that resource only."""
    iam = boto3.client("iam")
    iam.create_user(UserName="redriver")
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]}
    iam.put_user_policy(UserName="redriver", PolicyName="only", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName="redriver")["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


def test_iam_judges_each_operation_on_the_source_queue(own: Credentials) -> None:
    admin = boto3.client("sqs")
    mine = arn(url(admin, "orders-dlq"))
    other_url = admin.create_queue(QueueName="other-dlq")["QueueUrl"]
    admin.create_queue(QueueName="other", Attributes=redriving_to(other_url))
    other = arn(other_url)
    others = admin.start_message_move_task(SourceArn=other, MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    actions = ["sqs:StartMessageMoveTask", "sqs:ListMessageMoveTasks", "sqs:CancelMessageMoveTask"]
    sqs = boto3.client("sqs", **allowed_only(actions, mine))
    dead_letter(admin, "orders", ["a", "b", "c"])  # at one a second: still running when cancelled

    handle = sqs.start_message_move_task(SourceArn=mine, MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    sqs.list_message_move_tasks(SourceArn=mine)
    for action, call in [
        ("StartMessageMoveTask", lambda: sqs.start_message_move_task(SourceArn=other)),
        ("ListMessageMoveTasks", lambda: sqs.list_message_move_tasks(SourceArn=other)),
        ("CancelMessageMoveTask", lambda: sqs.cancel_message_move_task(TaskHandle=others)),
    ]:
        code, message = error_of(call)
        assert code == "AccessDeniedException"
        assert f"sqs:{action} on resource: {other}" in message
    forged = movetasks.encode_handle(movetasks.decode_handle(others)[0], mine)  # another queue's task under mine
    assert error_of(lambda: sqs.cancel_message_move_task(TaskHandle=forged)) == (
        "ResourceNotFoundException",
        "Task does not exist.",
    )
    sqs.cancel_message_move_task(TaskHandle=handle)


@pytest.fixture
def endpoint(own: Credentials) -> Iterator[str]:
    """The local AWS's endpoint (its gateway and trust boundary) on a free port, in this process."""
    gateway = Gateway("127.0.0.1", 0, Boundary((), own.access_key_id), [])
    gateway.start()
    yield gateway.endpoint
    gateway.stop()


def query(endpoint: str, own: Credentials, action: str, **params: str) -> tuple[int, ElementTree.Element]:
    """A call in SQS's query protocol (form-encoded, XML answered), signed with the instance's credentials."""
    body = urllib.parse.urlencode({"Action": action, "Version": "2012-11-05", **params})
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    signed = AWSRequest(method="POST", url=f"{endpoint}/", data=body, headers=headers)
    SigV4Auth(SigningKeys(own.access_key_id, own.secret_access_key), "sqs", REGION).add_auth(signed)
    answer = requests.post(f"{endpoint}/", data=body, headers=dict(signed.headers.items()), timeout=30)
    root = ElementTree.fromstring(answer.content)  # noqa: S314 - the endpoint under test
    for element in root.iter():
        element.tag = element.tag.rpartition("}")[2]  # without the namespace
    return answer.status_code, root


def test_the_query_protocol_answers_in_aws_xml(endpoint: str, own: Credentials) -> None:
    dlq = arn(url(boto3.client("sqs"), "orders-dlq"))

    status, started = query(endpoint, own, "StartMessageMoveTask", SourceArn=dlq, MaxNumberOfMessagesPerSecond="5")
    assert status == 200
    assert movetasks.decode_handle(started.findtext("StartMessageMoveTaskResult/TaskHandle") or "")[1] == dlq
    wait_for(lambda: newest(boto3.client("sqs"), dlq)["Status"] == "COMPLETED")
    status, listed = query(endpoint, own, "ListMessageMoveTasks", SourceArn=dlq, MaxResults="10")
    (entry,) = listed.findall("ListMessageMoveTasksResult/ListMessageMoveTasksResultEntry")
    assert {child.tag: child.text for child in entry} == {
        "SourceArn": dlq, "Status": "COMPLETED", "MaxNumberOfMessagesPerSecond": "5",
        "ApproximateNumberOfMessagesMoved": "0", "ApproximateNumberOfMessagesToMove": "0",
        "StartedTimestamp": entry.findtext("StartedTimestamp"),
    }  # fmt: skip
    status, refused = query(endpoint, own, "CancelMessageMoveTask", TaskHandle="foobared")
    assert (status, refused.findtext("Error/Code")) == (400, "InvalidParameterValue")
    status, refused = query(endpoint, own, "CancelMessageMoveTask", TaskHandle=movetasks.encode_handle("t", dlq))
    assert (status, refused.findtext("Error/Code")) == (404, "ResourceNotFoundException")
