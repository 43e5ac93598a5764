"""The local AWS's journal: what was acknowledged is on disk before the answer, and comes back after a restart."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localaws import instance, journal, services
from localaws.services import cloudwatch, cloudwatch_alarms, dynamodb, logs, sqs, stepfunctions
from tests.conftest import poll

REGION = "us-east-1"
CONFIG: Any = {
    "stepfunctions": {"execute_state_machine": True},
    "core": {"passthrough": {"services": ["lambda"], "urls": []}},
}
ROLE = "arn:aws:iam::123456789012:role/sfn"
SERVICES = (sqs, dynamodb, stepfunctions, logs, cloudwatch, cloudwatch_alarms)
DAY = 24 * 3600
# W waits until the input's time, not for a number of seconds: a loaded machine must not let it end before the
# restart it is there to span, and after the restart it waits only for what is left.
WAIT_MACHINE = {
    "StartAt": "Start",
    "States": {
        "Start": {"Type": "Pass", "Parameters": {"step": 1, "until.$": "$.until"}, "Next": "W"},
        "W": {"Type": "Wait", "TimestampPath": "$.until", "Next": "Done"},
        "Done": {"Type": "Pass", "End": True},
    },
}


class LocalAws:
    """moto with the corrections, recording to a journal in a folder; restart() is a new process on that folder."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / journal.FILE_NAME
        self._mock: Any = None
        self.journal: Any = None

    def start(self) -> dict[str, int]:
        self._mock = mock_aws(config=CONFIG)
        self._mock.start()
        self.journal = journal.Journal(self.path)
        for service in SERVICES:
            service.record_to(self.journal)
        self.deploy()
        return {
            **logs.restore(self.journal, 100, DAY),
            **cloudwatch.restore(self.journal, DAY),
            **cloudwatch_alarms.restore(self.journal),
            **sqs.restore(self.journal),
            **dynamodb.restore(self.journal),
            **stepfunctions.restore(self.journal),
        }

    def deploy(self) -> None:
        boto3.client("sqs", region_name=REGION).create_queue(QueueName="orders")
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName="payments",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        boto3.client("stepfunctions", region_name=REGION).create_state_machine(
            name="workflow", definition=json.dumps(WAIT_MACHINE), roleArn=ROLE
        )
        boto3.client("cloudwatch", region_name=REGION).put_metric_alarm(
            AlarmName="latency", Namespace="Test", MetricName="Latency", Statistic="Average", Period=60,
            EvaluationPeriods=1, Threshold=5, ComparisonOperator="GreaterThanThreshold",
        )  # fmt: skip

    def stop(self) -> None:
        self.journal.close()  # first: the old process's executions running on must not write any more
        self._mock.stop()

    def restart(self) -> dict[str, int]:
        self.stop()
        return self.start()


@pytest.fixture
def local_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalAws]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    services.apply()
    running = LocalAws(tmp_path)
    running.start()
    yield running
    running.stop()
    for service in SERVICES:
        service.record_to(None)


def on_disk(local_aws: LocalAws, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """What another process reading the journal file sees now."""
    with sqlite3.connect(local_aws.path) as reader:
        return reader.execute(sql, params).fetchall()


def queue_url() -> str:
    return boto3.client("sqs", region_name=REGION).get_queue_url(QueueName="orders")["QueueUrl"]


def test_a_sent_message_is_on_disk_when_send_answers(local_aws: LocalAws) -> None:
    client = boto3.client("sqs", region_name=REGION)
    single = client.send_message(QueueUrl=queue_url(), MessageBody="one")["MessageId"]
    assert on_disk(local_aws, "SELECT body FROM messages WHERE id = ?", single) == [("one",)]
    entries = [{"Id": str(n), "MessageBody": f"batch {n}"} for n in range(10)]
    batch = client.send_message_batch(QueueUrl=queue_url(), Entries=entries)["Successful"]
    assert len(on_disk(local_aws, "SELECT id FROM messages")) == 11
    assert {row[0] for row in on_disk(local_aws, "SELECT id FROM messages")} >= {m["MessageId"] for m in batch}


def test_messages_come_back_with_ids_and_counts_and_in_flight_ones_only_after_their_visibility_timeout(
    local_aws: LocalAws,
) -> None:
    client = boto3.client("sqs", region_name=REGION)
    sent = client.send_message(QueueUrl=queue_url(), MessageBody="in flight")["MessageId"]
    waiting = client.send_message(QueueUrl=queue_url(), MessageBody="waiting", DelaySeconds=0)["MessageId"]
    received_at = time.time()  # before the call: its invisibility starts inside it
    received = client.receive_message(QueueUrl=queue_url(), MaxNumberOfMessages=1, VisibilityTimeout=8)["Messages"]
    assert [m["MessageId"] for m in received] == [sent]

    assert local_aws.restart()["messages"] == 2
    client = boto3.client("sqs", region_name=REGION)
    first = client.receive_message(QueueUrl=queue_url(), MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert [(m["MessageId"], m["Body"]) for m in first] == [(waiting, "waiting")]  # the other is still in flight
    back = poll(lambda: client.receive_message(QueueUrl=queue_url(), AttributeNames=["All"]).get("Messages"),
                timeout=20, what="the in-flight message to come back")  # fmt: skip
    assert time.time() - received_at >= 8
    assert (back[0]["MessageId"], back[0]["Body"]) == (sent, "in flight")
    assert back[0]["Attributes"]["ApproximateReceiveCount"] == "2"


def test_deleted_and_purged_messages_are_gone_from_the_journal(local_aws: LocalAws) -> None:
    client = boto3.client("sqs", region_name=REGION)
    client.send_message(QueueUrl=queue_url(), MessageBody="done")
    handle = client.receive_message(QueueUrl=queue_url())["Messages"][0]["ReceiptHandle"]
    client.delete_message(QueueUrl=queue_url(), ReceiptHandle=handle)
    local_aws.journal.flush()  # not acknowledged work: committed within milliseconds, not before the answer
    assert on_disk(local_aws, "SELECT id FROM messages") == []
    client.send_message(QueueUrl=queue_url(), MessageBody="purged")
    client.purge_queue(QueueUrl=queue_url())
    local_aws.journal.flush()
    assert on_disk(local_aws, "SELECT id FROM messages") == []
    assert local_aws.restart()["messages"] == 0


def test_queue_attributes_set_through_the_api_come_back(local_aws: LocalAws) -> None:
    boto3.client("sqs", region_name=REGION).set_queue_attributes(
        QueueUrl=queue_url(), Attributes={"VisibilityTimeout": "7"}
    )
    local_aws.restart()
    attributes = boto3.client("sqs", region_name=REGION).get_queue_attributes(
        QueueUrl=queue_url(), AttributeNames=["VisibilityTimeout"]
    )["Attributes"]
    assert attributes["VisibilityTimeout"] == "7"


def test_items_are_on_disk_when_the_write_answers_and_come_back(local_aws: LocalAws) -> None:
    table = boto3.resource("dynamodb", region_name=REGION).Table("payments")
    table.put_item(Item={"id": "a", "status": "INPROGRESS"}, ConditionExpression="attribute_not_exists(id)")
    table.update_item(
        Key={"id": "a"}, UpdateExpression="SET #s = :s", ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": "COMPLETED"},
    )  # fmt: skip
    assert json.loads(on_disk(local_aws, "SELECT item FROM items")[0][0])["status"] == {"S": "COMPLETED"}
    table.put_item(Item={"id": "b"})
    table.delete_item(Key={"id": "b"})
    assert len(on_disk(local_aws, "SELECT key FROM items")) == 1

    assert local_aws.restart()["items"] == 1
    table = boto3.resource("dynamodb", region_name=REGION).Table("payments")
    assert table.get_item(Key={"id": "a"})["Item"] == {"id": "a", "status": "COMPLETED"}
    assert "Item" not in table.get_item(Key={"id": "b"})


def machine_arn() -> str:
    return f"arn:aws:states:{REGION}:123456789012:stateMachine:workflow"


def waiting(seconds: float, **fields: Any) -> str:
    """An execution input that makes W wait that long from now."""
    until = datetime.now(UTC) + timedelta(seconds=seconds)
    return json.dumps({**fields, "until": until.strftime("%Y-%m-%dT%H:%M:%SZ")})


def test_a_running_execution_continues_from_its_last_state_and_finished_ones_are_still_described(
    local_aws: LocalAws,
) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    done = sfn.start_execution(stateMachineArn=machine_arn(), name="done", input=waiting(0, n=1))["executionArn"]
    poll(lambda: sfn.describe_execution(executionArn=done)["status"] == "SUCCEEDED", timeout=10, what="done")
    running_input = waiting(10, n=2)
    running = sfn.start_execution(stateMachineArn=machine_arn(), name="running", input=running_input)["executionArn"]
    assert on_disk(local_aws, "SELECT status FROM executions WHERE arn = ?", running) == [("RUNNING",)]
    poll(lambda: on_disk(local_aws, "SELECT state FROM executions WHERE arn = ?", running) == [("W",)], what="W")

    restored = local_aws.restart()
    assert (restored["finished"], restored["continued"], restored["failed"]) == (1, 1, 0)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    finished = sfn.describe_execution(executionArn=done)
    assert (finished["status"], finished["name"]) == ("SUCCEEDED", "done")
    ended = poll(lambda: (d := sfn.describe_execution(executionArn=running))["status"] != "RUNNING" and d,
                 timeout=30, what="the continued execution to end")  # fmt: skip
    assert ended["status"] == "SUCCEEDED"
    assert json.loads(ended["output"]) == {"step": 1, "until": json.loads(running_input)["until"]}  # W's saved input
    events = sfn.get_execution_history(executionArn=running)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
    assert entered == ["W", "Done"]
    # Its events before the restart are not journaled: its start, then the continuation, as after a redrive.
    assert [e["type"] for e in events[:2]] == ["ExecutionStarted", "ExecutionRedriven"]
    assert events[0]["executionStartedEventDetails"]["input"] == running_input
    names = [e["name"] for e in sfn.list_executions(stateMachineArn=machine_arn())["executions"]]
    assert names == ["running", "done"]


def test_an_execution_that_cannot_continue_ends_failed_saying_the_local_aws_restarted(local_aws: LocalAws) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.start_execution(stateMachineArn=machine_arn(), name="orphan", input=waiting(10))["executionArn"]
    poll(lambda: on_disk(local_aws, "SELECT state FROM executions WHERE arn = ?", arn) == [("W",)], what="W")
    local_aws.journal.write([("UPDATE executions SET state = 'Gone' WHERE arn = ?", [(arn,)])])  # a changed workflow

    assert local_aws.restart()["failed"] == 1
    described = boto3.client("stepfunctions", region_name=REGION).describe_execution(executionArn=arn)
    assert (described["status"], described["error"]) == ("FAILED", stepfunctions.RESTARTED_ERROR)
    assert "restarted" in described["cause"]


def test_a_finished_execution_keeps_its_output_and_history_until_it_is_compacted(local_aws: LocalAws) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.start_execution(stateMachineArn=machine_arn(), name="kept", input=waiting(0, n=1))["executionArn"]
    before = poll(lambda: (d := sfn.describe_execution(executionArn=arn))["status"] == "SUCCEEDED" and d,
                  timeout=10, what="the execution to end")  # fmt: skip
    history = sfn.get_execution_history(executionArn=arn)["events"]

    assert local_aws.restart()["finished"] == 1
    sfn = boto3.client("stepfunctions", region_name=REGION)
    assert sfn.describe_execution(executionArn=arn) | {"ResponseMetadata": None} == before | {"ResponseMetadata": None}
    assert sfn.get_execution_history(executionArn=arn)["events"] == history

    stepfunctions.compact_finished_executions(keep_detail=0, keep_records=10, keep_seconds=DAY)
    local_aws.journal.flush()
    assert on_disk(local_aws, "SELECT output, history FROM executions") == [(None, None)]
    local_aws.restart()
    described = boto3.client("stepfunctions", region_name=REGION).describe_execution(executionArn=arn)
    assert (described["status"], "output" in described) == ("SUCCEEDED", False)


def test_log_events_datapoints_and_alarm_states_are_on_disk_when_acknowledged_and_come_back(
    local_aws: LocalAws,
) -> None:
    logs_api, cloudwatch_api = boto3.client("logs", region_name=REGION), boto3.client("cloudwatch", region_name=REGION)
    logs_api.create_log_group(logGroupName="/aws/lambda/f")
    logs_api.create_log_stream(logGroupName="/aws/lambda/f", logStreamName="s")
    now_ms = int(time.time() * 1000)
    events = [{"timestamp": now_ms - 1000 + n, "message": f"line {n}"} for n in range(5)]
    logs_api.put_log_events(logGroupName="/aws/lambda/f", logStreamName="s", logEvents=events)
    assert len(on_disk(local_aws, "SELECT message FROM log_events")) == 5
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    cloudwatch_api.put_metric_data(Namespace="Test", MetricData=[
        {"MetricName": "Latency", "Values": [1.0, 9.0], "Counts": [90, 10], "Timestamp": minute},
        {"MetricName": "Latency", "Value": 9.0, "Timestamp": minute},
        {"MetricName": "Calls", "StatisticValues": {"SampleCount": 3, "Sum": 6, "Minimum": 1, "Maximum": 3}},
    ])  # fmt: skip
    assert len(on_disk(local_aws, "SELECT value FROM metric_values")) == 2  # 9.0 counted 11 times in one row
    cloudwatch_api.set_alarm_state(AlarmName="latency", StateValue="ALARM", StateReason="by hand")
    assert on_disk(local_aws, "SELECT state FROM alarm_states") == [("ALARM",)]

    def figures() -> Any:
        queries = [
            {"Id": f"m{n}", "MetricStat": {"Metric": {"Namespace": "Test", "MetricName": name}, "Period": 60,
                                          "Stat": stat}}
            for n, (name, stat) in enumerate([("Latency", "p95"), ("Latency", "SampleCount"), ("Calls", "Sum")])
        ]  # fmt: skip
        answer = boto3.client("cloudwatch", region_name=REGION).get_metric_data(
            MetricDataQueries=queries, StartTime=minute - timedelta(hours=1), EndTime=minute + timedelta(minutes=2)
        )
        return [(result["Id"], result["Values"]) for result in answer["MetricDataResults"]]

    def alarm() -> Any:
        (made,) = boto3.client("cloudwatch", region_name=REGION).describe_alarms(AlarmNames=["latency"])["MetricAlarms"]
        return {key: value for key, value in made.items() if key.startswith("State")}  # made again at each start

    shown, alarm_before = figures(), alarm()
    assert shown == [("m0", [9.0]), ("m1", [101.0]), ("m2", [6.0])]

    local_aws.restart()
    stored = boto3.client("logs", region_name=REGION).get_log_events(logGroupName="/aws/lambda/f", logStreamName="s")
    assert [(e["timestamp"], e["message"]) for e in stored["events"]] == [
        (e["timestamp"], e["message"]) for e in events
    ]
    assert figures() == shown
    assert alarm() == alarm_before

    assert logs.prune_log_events(keep_per_stream=2) == 3
    local_aws.journal.flush()
    assert on_disk(local_aws, "SELECT message FROM log_events ORDER BY timestamp") == [("line 3",), ("line 4",)]
    assert cloudwatch.retain_metrics(keep_seconds=0) == 3
    local_aws.journal.flush()
    assert on_disk(local_aws, "SELECT count(*) FROM metric_values") == on_disk(local_aws, "SELECT 0")


def test_reset_deletes_the_journal_and_records_when(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERS_LOCAL_STATE_DIR", str(tmp_path))
    journal.Journal(tmp_path / journal.FILE_NAME).close()
    assert (tmp_path / journal.FILE_NAME).exists()
    assert instance.reset() is None  # nothing was running
    assert not any(path.exists() for path in journal.journal_files(tmp_path))
    instance.reset()
    assert len(instance.resets()) == 2


def test_a_stopped_execution_is_aborted_on_disk_when_stop_answers_and_stays_so(local_aws: LocalAws) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.start_execution(stateMachineArn=machine_arn(), name="stopped", input=waiting(10))["executionArn"]
    poll(lambda: on_disk(local_aws, "SELECT state FROM executions WHERE arn = ?", arn) == [("W",)], what="W")
    sfn.stop_execution(executionArn=arn, error="Ops", cause="by hand")
    assert on_disk(local_aws, "SELECT status, error FROM executions WHERE arn = ?", arn) == [("ABORTED", "Ops")]

    assert local_aws.restart()["continued"] == 0
    described = boto3.client("stepfunctions", region_name=REGION).describe_execution(executionArn=arn)
    assert (described["status"], described["error"], described["cause"]) == ("ABORTED", "Ops", "by hand")


def test_prune_keeps_running_executions_and_the_newest_finished_ones_within_the_retention(tmp_path: Path) -> None:
    store = journal.Journal(tmp_path / journal.FILE_NAME)
    now = time.time()
    rows = [(f"arn:{n}", "machine", str(n), "{}", now - n, "SUCCEEDED") for n in range(5)]
    rows += [
        ("arn:old", "machine", "old", "{}", now - 7200, "FAILED"),
        ("arn:run", "machine", "run", "{}", 0, "RUNNING"),
    ]
    sql = "INSERT INTO executions (arn, state_machine_arn, name, input, start, status) VALUES (?, ?, ?, ?, ?, ?)"
    store.write([(sql, rows)])
    store.prune(keep_records=3, keep_seconds=3600)
    assert sorted(row["name"] for row in store.rows("SELECT name FROM executions")) == ["0", "1", "2", "run"]
    store.close()


def test_a_write_that_cannot_be_recorded_fails_the_request_instead_of_being_acknowledged(tmp_path: Path) -> None:
    store = journal.Journal(tmp_path / journal.FILE_NAME)
    store.write([("INSERT INTO no_such_table VALUES (?)", [(1,)])])
    with pytest.raises(journal.JournalError):
        store.sync()
    store.write([("INSERT INTO queue_attributes VALUES (?, ?)", [("arn", "{}")])])
    store.sync()  # a later write that is recorded is acknowledged again
    assert [row["queue_arn"] for row in store.rows("SELECT queue_arn FROM queue_attributes")] == ["arn"]
    store.close()


def test_a_writer_process_that_is_gone_fails_the_requests_instead_of_hanging(tmp_path: Path) -> None:
    store = journal.Journal(tmp_path / journal.FILE_NAME)
    store._writer_process.kill()
    store._writer_process.wait()
    store.write([("INSERT INTO queue_attributes VALUES (?, ?)", [("arn", "{}")])])
    with pytest.raises(journal.JournalError):
        store.sync()
    store.close()
