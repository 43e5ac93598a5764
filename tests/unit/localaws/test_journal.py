"""The local AWS's journal: what was acknowledged is on disk before the answer and comes back after a restart, and a
write that cannot be recorded is never acknowledged. (Each service's own journaling is tested with the service.)"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from localaws import instance as local_instance
from localaws.journal import FILE_NAME, Journal, JournalError, Tables, journal_files
from localaws.services.dynamodb.provider import DynamoDB
from localaws.services.logs.provider import Logs
from localaws.services.sqs.provider import Sqs
from tests.conftest import poll
from tests.unit.localaws.conftest import Instance

REGION = "us-east-1"
TABLES = [Tables("CREATE TABLE IF NOT EXISTS queue_attributes (queue_arn TEXT PRIMARY KEY, attributes TEXT NOT NULL);")]


def _the_stacks_resources() -> None:
    boto3.client("sqs", region_name=REGION).create_queue(QueueName="orders")
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName="payments", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )  # fmt: skip


@pytest.fixture
def instance(started: Callable[..., Instance]) -> Instance:
    """Services that journal, started on a journal with the stack's queue and table."""
    return started([Logs(), DynamoDB(), Sqs()], deploy=_the_stacks_resources)


def queue_url() -> str:
    return boto3.client("sqs", region_name=REGION).get_queue_url(QueueName="orders")["QueueUrl"]


def test_a_sent_message_is_on_disk_when_send_answers(instance: Instance) -> None:
    client = boto3.client("sqs", region_name=REGION)
    single = client.send_message(QueueUrl=queue_url(), MessageBody="one")["MessageId"]
    assert instance.on_disk("SELECT body FROM messages WHERE id = ?", single) == [("one",)]
    entries = [{"Id": str(n), "MessageBody": f"batch {n}"} for n in range(10)]
    batch = client.send_message_batch(QueueUrl=queue_url(), Entries=entries)["Successful"]
    assert len(instance.on_disk("SELECT id FROM messages")) == 11
    assert {row[0] for row in instance.on_disk("SELECT id FROM messages")} >= {m["MessageId"] for m in batch}


def test_messages_come_back_with_ids_and_counts_and_in_flight_ones_only_after_their_visibility_timeout(
    instance: Instance,
) -> None:
    client = boto3.client("sqs", region_name=REGION)
    sent = client.send_message(QueueUrl=queue_url(), MessageBody="in flight")["MessageId"]
    waiting = client.send_message(QueueUrl=queue_url(), MessageBody="waiting", DelaySeconds=0)["MessageId"]
    received_at = time.time()  # before the call: its invisibility starts inside it
    received = client.receive_message(QueueUrl=queue_url(), MaxNumberOfMessages=1, VisibilityTimeout=8)["Messages"]
    assert [m["MessageId"] for m in received] == [sent]

    assert instance.restart()["messages"] == 2
    client = boto3.client("sqs", region_name=REGION)
    first = client.receive_message(QueueUrl=queue_url(), MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert [(m["MessageId"], m["Body"]) for m in first] == [(waiting, "waiting")]  # the other is still in flight
    back = poll(lambda: client.receive_message(QueueUrl=queue_url(), AttributeNames=["All"]).get("Messages"),
                timeout=20, what="the in-flight message to come back")  # fmt: skip
    assert time.time() - received_at >= 8
    assert (back[0]["MessageId"], back[0]["Body"]) == (sent, "in flight")
    assert back[0]["Attributes"]["ApproximateReceiveCount"] == "2"


def test_deleted_and_purged_messages_are_gone_from_the_journal(instance: Instance) -> None:
    client = boto3.client("sqs", region_name=REGION)
    client.send_message(QueueUrl=queue_url(), MessageBody="done")
    handle = client.receive_message(QueueUrl=queue_url())["Messages"][0]["ReceiptHandle"]
    client.delete_message(QueueUrl=queue_url(), ReceiptHandle=handle)
    instance.journal.flush()  # not acknowledged work: committed within milliseconds, not before the answer
    assert instance.on_disk("SELECT id FROM messages") == []
    client.send_message(QueueUrl=queue_url(), MessageBody="purged")
    client.purge_queue(QueueUrl=queue_url())
    instance.journal.flush()
    assert instance.on_disk("SELECT id FROM messages") == []
    assert instance.restart()["messages"] == 0


def test_items_are_on_disk_when_the_write_answers_and_come_back(instance: Instance) -> None:
    table = boto3.resource("dynamodb", region_name=REGION).Table("payments")
    table.put_item(Item={"id": "a", "status": "INPROGRESS"}, ConditionExpression="attribute_not_exists(id)")
    table.update_item(
        Key={"id": "a"}, UpdateExpression="SET #s = :s", ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": "COMPLETED"},
    )  # fmt: skip
    assert json.loads(instance.on_disk("SELECT item FROM items")[0][0])["status"] == {"S": "COMPLETED"}
    table.put_item(Item={"id": "b"})
    table.delete_item(Key={"id": "b"})
    assert len(instance.on_disk("SELECT key FROM items")) == 1

    assert instance.restart()["items"] == 1
    table = boto3.resource("dynamodb", region_name=REGION).Table("payments")
    assert table.get_item(Key={"id": "a"})["Item"] == {"id": "a", "status": "COMPLETED"}
    assert "Item" not in table.get_item(Key={"id": "b"})


def test_reset_deletes_the_journal_and_records_when(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERS_LOCAL_STATE_DIR", str(tmp_path))
    Journal(tmp_path / FILE_NAME, TABLES).close()
    assert (tmp_path / FILE_NAME).exists()
    assert local_instance.reset() is None  # nothing was running
    assert not any(path.exists() for path in journal_files(tmp_path))
    local_instance.reset()
    assert len(local_instance.resets()) == 2


def test_a_write_that_cannot_be_recorded_fails_the_request_instead_of_being_acknowledged(tmp_path: Path) -> None:
    store = Journal(tmp_path / FILE_NAME, TABLES)
    store.write([("INSERT INTO no_such_table VALUES (?)", [(1,)])])
    with pytest.raises(JournalError):
        store.sync()
    store.write([("INSERT INTO queue_attributes VALUES (?, ?)", [("arn", "{}")])])
    store.sync()  # a later write that is recorded is acknowledged again
    assert [row["queue_arn"] for row in store.rows("SELECT queue_arn FROM queue_attributes")] == ["arn"]
    store.close()


def test_a_writer_process_that_is_gone_fails_the_requests_instead_of_hanging(tmp_path: Path) -> None:
    store = Journal(tmp_path / FILE_NAME, TABLES)
    store._writer_process.kill()
    store._writer_process.wait()
    store.write([("INSERT INTO queue_attributes VALUES (?, ?)", [("arn", "{}")])])
    with pytest.raises(JournalError):
        store.sync()
    store.close()
