"""Alarm history (localaws.services.cloudwatch.history, describe_history): each change of state, configuration and
executed action recorded as CloudWatch records it, DescribeAlarmHistory's filters, paging and order in each protocol,
kept across a restart and for two weeks, forgotten by a reset, and read by the AWS CLI through the endpoint."""

from __future__ import annotations

import copy
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.loaders import Loader

from localaws import credentials
from localaws.boundary import Boundary
from localaws.credentials import Credentials
from localaws.gateway import Gateway
from localaws.reset import Reset
from localaws.services import patches
from localaws.services.cloudwatch import history
from localaws.services.cloudwatch.alarms import SETTLE_SECONDS, evaluate_alarms
from localaws.services.cloudwatch.provider import CloudWatch
from localaws.services.iam import principals
from localaws.services.iam.provider import Iam
from tests.conftest import aws_cli_path
from tests.unit.localaws.conftest import Instance, assert_applied_once

REGION = "us-east-1"
ALARM: Any = {
    "AlarmName": "latency", "Namespace": "Test", "MetricName": "Latency", "Statistic": "Maximum", "Period": 60,
    "EvaluationPeriods": 1, "Threshold": 5, "ComparisonOperator": "GreaterThanThreshold",
    "TreatMissingData": "notBreaching",
}  # fmt: skip


def cloudwatch() -> Any:
    return boto3.client("cloudwatch", region_name=REGION)


def every_item(client: Any, **filters: Any) -> list[dict[str, Any]]:
    """Every history item the filters select, page by page (the SDK's paginator follows NextToken)."""
    pages = client.get_paginator("describe_alarm_history").paginate(**filters)
    return [item for page in pages for item in page["AlarmHistoryItems"]]


def data(item: dict[str, Any]) -> dict[str, Any]:
    return json.loads(item["HistoryData"])


def described(name: str) -> dict[str, Any]:
    (alarm,) = cloudwatch().describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return alarm


@pytest.fixture
def instance(started: Callable[..., Instance]) -> Instance:
    """The CloudWatch service started on a journal."""
    return started([CloudWatch()])


def test_the_correction_is_applied_once() -> None:
    patches.apply_all(CloudWatch.corrections)
    assert_applied_once(CloudWatch.corrections)


# --- what is recorded ----------------------------------------------------------------------------------------


def test_ok_alarm_ok_through_metric_data_records_each_change_its_reasons_and_each_action(instance: Instance) -> None:
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="alarms")["TopicArn"]
    cloudwatch().put_metric_alarm(**ALARM, AlarmActions=[topic], OKActions=[topic])
    minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)
    judged = (minute + timedelta(minutes=1, seconds=SETTLE_SECONDS + 2)).timestamp()

    assert evaluate_alarms(judged - 60) == 1  # the minute before has no data: OK
    cloudwatch().put_metric_data(
        Namespace="Test", MetricData=[{"MetricName": "Latency", "Value": 9.0, "Timestamp": minute}]
    )
    assert evaluate_alarms(judged) == 1
    in_alarm = described("latency")
    assert evaluate_alarms(judged + 60) == 1  # the next minute has no data: OK again
    back_ok = described("latency")

    changes = every_item(cloudwatch(), AlarmName="latency", HistoryItemType="StateUpdate", ScanBy="TimestampAscending")
    assert [item["HistorySummary"] for item in changes] == [
        "Alarm updated from INSUFFICIENT_DATA to OK",
        "Alarm updated from OK to ALARM",
        "Alarm updated from ALARM to OK",
    ]
    assert {(item["AlarmName"], item["AlarmType"]) for item in changes} == {("latency", "MetricAlarm")}
    to_alarm, to_ok = data(changes[1]), data(changes[2])
    assert to_alarm["version"] == "1.0"
    assert to_alarm["oldState"]["stateValue"] == "OK"
    assert to_alarm["oldState"]["stateReason"].startswith("Threshold Crossed: no datapoints were received")
    assert to_alarm["newState"] == {
        "stateValue": "ALARM",
        "stateReason": in_alarm["StateReason"],
        "stateReasonData": json.loads(in_alarm["StateReasonData"]),
    }
    reason_data = to_alarm["newState"]["stateReasonData"]
    assert (reason_data["period"], reason_data["statistic"], reason_data["threshold"]) == (60, "Maximum", 5.0)
    assert reason_data["recentDatapoints"] == [9.0]
    assert reason_data["evaluatedDatapoints"] == [{"timestamp": minute.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
                                                   "value": 9.0}]  # fmt: skip
    assert {"queryDate", "startDate"} <= reason_data.keys()
    assert to_ok["oldState"] == to_alarm["newState"]
    assert (to_ok["newState"]["stateValue"], to_ok["newState"]["stateReason"]) == ("OK", back_ok["StateReason"])
    for item, alarm in ((changes[1], in_alarm), (changes[2], back_ok)):
        assert abs(item["Timestamp"] - alarm["StateUpdatedTimestamp"]) <= timedelta(milliseconds=1)

    actions = every_item(cloudwatch(), AlarmName="latency", HistoryItemType="Action", ScanBy="TimestampAscending")
    assert [item["HistorySummary"] for item in actions] == [f"Successfully executed action {topic}"] * 3
    action = data(actions[1])
    assert (action["actionState"], action["notificationResource"]) == ("Succeeded", topic)
    published = json.loads(json.loads(action["publishedMessage"])["default"])
    assert (published["OldStateValue"], published["NewStateValue"]) == ("OK", "ALARM")
    assert action["stateUpdateTimestamp"] == round(in_alarm["StateUpdatedTimestamp"].timestamp() * 1000)
    assert actions[1]["Timestamp"] >= changes[1]["Timestamp"]


def test_set_alarm_state_runs_the_new_states_actions_as_on_aws_and_no_action_without_a_change(
    instance: Instance,
) -> None:
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="drills")["TopicArn"]
    inbox = sqs.create_queue(QueueName="drill-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    cloudwatch().put_metric_alarm(**ALARM, AlarmActions=[topic])
    cloudwatch().set_alarm_state(AlarmName="latency", StateValue="ALARM", StateReason="an operator's drill")
    cloudwatch().set_alarm_state(AlarmName="latency", StateValue="ALARM", StateReason="still")  # no change: no action
    cloudwatch().set_alarm_state(AlarmName="latency", StateValue="OK", StateReason="over")  # no OK action

    (action,) = every_item(cloudwatch(), AlarmName="latency", HistoryItemType="Action")
    assert action["HistorySummary"] == f"Successfully executed action {topic}"
    (message,) = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)["Messages"]
    envelope = json.loads(message["Body"])
    assert envelope["Subject"] == 'ALARM: "latency" in US East (N. Virginia)'
    body = json.loads(envelope["Message"])
    assert (body["OldStateValue"], body["NewStateValue"], body["NewStateReason"]) == (
        "INSUFFICIENT_DATA", "ALARM", "an operator's drill",
    )  # fmt: skip
    (change, *_) = every_item(cloudwatch(), AlarmName="latency", HistoryItemType="StateUpdate",
                              ScanBy="TimestampAscending")  # fmt: skip
    at = change["Timestamp"].astimezone(UTC)
    assert body["StateChangeTime"] == f"{at:%Y-%m-%dT%H:%M:%S}.{at.microsecond // 1000:03d}+0000"
    assert action["Timestamp"] >= change["Timestamp"]


def test_an_action_that_fails_is_recorded_with_its_error(instance: Instance) -> None:
    gone = f"arn:aws:sns:{REGION}:123456789012:no-such-topic"
    cloudwatch().put_metric_alarm(**ALARM | {"AlarmName": "orphan"}, OKActions=[gone])
    assert evaluate_alarms(datetime.now(UTC).timestamp()) == 1
    (action,) = every_item(cloudwatch(), AlarmName="orphan", HistoryItemType="Action")
    assert action["HistorySummary"].startswith(f"Failed to execute action {gone}. Received error: ")
    assert (data(action)["actionState"], data(action)["notificationResource"]) == ("Failed", gone)


def test_set_alarm_state_and_configuration_changes_are_recorded_and_a_deleted_alarms_history_stays(
    instance: Instance,
) -> None:
    client = cloudwatch()
    client.put_metric_alarm(**ALARM)
    client.set_alarm_state(AlarmName="latency", StateValue="ALARM", StateReason="by hand",
                           StateReasonData=json.dumps({"why": "testing"}))  # fmt: skip
    # Acknowledged: on disk already.
    assert instance.on_disk("SELECT item_type, summary FROM alarm_history ORDER BY at, rowid") == [
        ("ConfigurationUpdate", 'Alarm "latency" created'),
        ("StateUpdate", "Alarm updated from INSUFFICIENT_DATA to ALARM"),
    ]
    client.set_alarm_state(AlarmName="latency", StateValue="ALARM", StateReason="still")  # no transition
    client.put_metric_alarm(**ALARM | {"Threshold": 7})
    client.set_alarm_state(AlarmName="latency", StateValue="OK", StateReason="fixed")
    client.delete_alarms(AlarmNames=["latency"])

    items = every_item(client, AlarmName="latency")  # newest first by default
    assert [item["HistorySummary"] for item in items] == [
        'Alarm "latency" deleted',
        "Alarm updated from ALARM to OK",
        'Alarm "latency" updated',
        "Alarm updated from INSUFFICIENT_DATA to ALARM",
        'Alarm "latency" created',
    ]
    deleted, to_ok, updated, to_alarm, created = (data(item) for item in items)
    assert to_alarm == {
        "version": "1.0",
        "oldState": {"stateValue": "INSUFFICIENT_DATA", "stateReason": "Unchecked: Initial alarm creation"},
        "newState": {"stateValue": "ALARM", "stateReason": "by hand", "stateReasonData": {"why": "testing"}},
    }
    assert to_ok["newState"] == {"stateValue": "OK", "stateReason": "fixed"}  # no data given: none shown
    assert (created["type"], created["createdAlarm"]["threshold"]) == ("Create", 5.0)
    assert created["createdAlarm"]["stateValue"] == "INSUFFICIENT_DATA"
    assert created["createdAlarm"]["alarmArn"] == f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:latency"
    assert (updated["type"], updated["updatedAlarm"]["threshold"]) == ("Update", 7.0)
    assert updated["updatedAlarm"]["stateValue"] == "ALARM"  # an update keeps the state
    assert (deleted["type"], deleted["deletedAlarm"]["stateValue"]) == ("Delete", "OK")
    assert all(len(item["HistoryData"]) <= history.MAX_DATA for item in items)


# --- DescribeAlarmHistory ------------------------------------------------------------------------------------


@pytest.fixture
def recorded(instance: Instance) -> list[dict[str, Any]]:
    """Two alarms with a few changes each; every item, newest first."""
    client = cloudwatch()
    for name in ("a", "b"):
        client.put_metric_alarm(**ALARM | {"AlarmName": name})
    for state in ("ALARM", "OK", "ALARM"):
        for name in ("a", "b"):
            client.set_alarm_state(AlarmName=name, StateValue=state, StateReason=f"{name} to {state}")
    items = every_item(client)
    assert len(items) == 8
    return items


def test_filters_select_by_name_type_kind_and_time(recorded: list[dict[str, Any]]) -> None:
    client = cloudwatch()
    assert every_item(client, AlarmName="a") == [item for item in recorded if item["AlarmName"] == "a"]
    assert every_item(client, AlarmName="nothing") == []
    states = every_item(client, HistoryItemType="StateUpdate")
    assert states == [item for item in recorded if item["HistoryItemType"] == "StateUpdate"]
    assert len(states) == 6
    assert every_item(client, AlarmTypes=["CompositeAlarm"]) == []  # metric alarms only when AlarmTypes is left out
    assert every_item(client, AlarmTypes=["MetricAlarm", "CompositeAlarm"]) == recorded

    middle = recorded[3]["Timestamp"]
    at_once = every_item(client, StartDate=middle, EndDate=middle)  # both ends inclusive
    assert recorded[3] in at_once
    assert {item["Timestamp"] for item in at_once} == {middle}
    assert every_item(client, StartDate=middle) == [item for item in recorded if item["Timestamp"] >= middle]
    assert every_item(client, EndDate=middle) == [item for item in recorded if item["Timestamp"] <= middle]
    assert every_item(client, StartDate=recorded[0]["Timestamp"] + timedelta(seconds=1)) == []
    assert every_item(client, EndDate=recorded[-1]["Timestamp"] - timedelta(seconds=1)) == []


def test_pages_follow_next_token_in_either_order(recorded: list[dict[str, Any]]) -> None:
    client = cloudwatch()
    first = client.describe_alarm_history(MaxRecords=3)
    assert first["AlarmHistoryItems"] == recorded[:3]
    second = client.describe_alarm_history(MaxRecords=3, NextToken=first["NextToken"])
    assert second["AlarmHistoryItems"] == recorded[3:6]
    assert "NextToken" not in client.describe_alarm_history(MaxRecords=8)
    assert every_item(client, PaginationConfig={"PageSize": 3}) == recorded
    ascending = every_item(client, ScanBy="TimestampAscending", PaginationConfig={"PageSize": 3})
    assert ascending == recorded[::-1]
    assert client.describe_alarm_history(ScanBy="TimestampDescending")["AlarmHistoryItems"] == recorded

    # A change made between two pages does not shift the next one: it is newer than the place the token names.
    client.set_alarm_state(AlarmName="a", StateValue="OK", StateReason="meanwhile")
    again = client.describe_alarm_history(MaxRecords=3, NextToken=first["NextToken"])
    assert again["AlarmHistoryItems"] == recorded[3:6]


@pytest.mark.parametrize(
    ("parameters", "code"),
    [
        ({"MaxRecords": 101}, "ValidationError"),
        ({"NextToken": "not-a-token"}, "InvalidNextToken"),
    ],
)
def test_what_cloudwatch_refuses_is_refused(instance: Instance, parameters: dict[str, Any], code: str) -> None:
    with pytest.raises(ClientError) as raised:
        cloudwatch().describe_alarm_history(**parameters)
    assert raised.value.response["Error"]["Code"] == code


def speaking(protocol: str, folder: Path, **settings: Any) -> Any:
    """A CloudWatch client that speaks only the given one of the protocols CloudWatch's model lists (botocore picks
    JSON of them; moto 5.2.5 serves no Smithy RPC v2 CBOR)."""
    model = copy.deepcopy(Loader().load_service_model("cloudwatch", "service-2"))
    model["metadata"] |= {"protocol": protocol, "protocols": [protocol]}
    version = folder / protocol / "cloudwatch" / model["metadata"]["apiVersion"]
    version.mkdir(parents=True)
    (version / "service-2.json").write_text(json.dumps(model))
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(folder / protocol))
    client = boto3.Session(botocore_session=session).client("cloudwatch", region_name=REGION, **settings)
    assert client.meta.service_model.protocol == protocol
    return client


@pytest.mark.parametrize("protocol", ["query", "json"])
def test_every_protocol_gets_the_same_answer(recorded: list[dict[str, Any]], protocol: str, tmp_path: Path) -> None:
    client = speaking(protocol, tmp_path)
    assert every_item(client, PaginationConfig={"PageSize": 5}) == recorded
    assert every_item(client, AlarmName="b", ScanBy="TimestampAscending") == [
        item for item in recorded[::-1] if item["AlarmName"] == "b"
    ]
    assert every_item(client, AlarmTypes=["CompositeAlarm"]) == []
    assert every_item(client, AlarmTypes=["CompositeAlarm", "MetricAlarm"], HistoryItemType="ConfigurationUpdate") == [
        item for item in recorded if item["HistoryItemType"] == "ConfigurationUpdate"
    ]
    with pytest.raises(ClientError, match="InvalidNextToken"):
        client.describe_alarm_history(NextToken="not-a-token")


# --- durability and retention --------------------------------------------------------------------------------


def test_history_survives_a_restart_and_the_stacks_alarms_are_not_created_twice(
    started: Callable[..., Instance],
) -> None:
    template = dict(ALARM)

    def deploy() -> None:
        cloudwatch().put_metric_alarm(**template)  # the stack's alarm, made again at each start

    instance = started([CloudWatch()], deploy=deploy)
    cloudwatch().set_alarm_state(AlarmName="latency", StateValue="ALARM", StateReason="by hand")
    cloudwatch().put_metric_alarm(**ALARM | {"AlarmName": "by-api"})  # made through the API: gone at a restart
    cloudwatch().delete_alarms(AlarmNames=["by-api"])
    before = every_item(cloudwatch(), ScanBy="TimestampAscending")
    assert len(before) == 4

    assert instance.restart()["alarm_history"] == 4
    assert every_item(cloudwatch(), ScanBy="TimestampAscending") == before
    instance.journal.flush()
    assert len(instance.on_disk("SELECT id FROM alarm_history")) == 4

    template["Threshold"] = 9  # the template changed: the stack updates its alarm
    instance.restart()
    after = every_item(cloudwatch(), ScanBy="TimestampAscending")
    assert after[:4] == before
    assert [item["HistorySummary"] for item in after[4:]] == ['Alarm "latency" updated']
    assert data(after[4])["updatedAlarm"]["threshold"] == 9.0
    cloudwatch().set_alarm_state(AlarmName="latency", StateValue="OK", StateReason="journaled state came back")
    assert every_item(cloudwatch(), MaxRecords=1)[0]["HistorySummary"] == "Alarm updated from ALARM to OK"


def test_history_is_kept_two_weeks_and_bounded_in_count(instance: Instance, monkeypatch: pytest.MonkeyPatch) -> None:
    client = cloudwatch()
    client.put_metric_alarm(**ALARM | {"TreatMissingData": "ignore"})  # housekeeping's evaluation changes nothing
    monkeypatch.setattr(history, "MAX_ITEMS", 3)
    for state in ("ALARM", "OK", "ALARM"):
        client.set_alarm_state(AlarmName="latency", StateValue=state, StateReason="flapping")
    kept = every_item(client)
    assert [item["HistorySummary"] for item in kept] == [
        "Alarm updated from OK to ALARM",
        "Alarm updated from ALARM to OK",
        "Alarm updated from INSUFFICIENT_DATA to ALARM",
    ]
    now = datetime.now(UTC).timestamp()
    instance.service.housekeep(now, instance.options)
    instance.journal.flush()
    assert len(instance.on_disk("SELECT id FROM alarm_history")) == 3
    instance.restart()
    assert every_item(client) == kept

    client.delete_alarms(AlarmNames=["latency"])
    instance.service.housekeep(now + history.RETENTION_SECONDS - 60, instance.options)
    assert len(every_item(client)) == 3
    instance.service.housekeep(now + history.RETENTION_SECONDS + 60, instance.options)
    assert every_item(client) == []
    instance.journal.flush()
    assert instance.on_disk("SELECT id FROM alarm_history") == []


def test_a_reset_forgets_the_history(instance: Instance) -> None:
    client = cloudwatch()
    client.put_metric_alarm(**ALARM)
    client.set_alarm_state(AlarmName="latency", StateValue="ALARM", StateReason="by hand")
    assert len(every_item(client)) == 2

    assert Reset(credentials.generate(), [instance.service]).reset() == []  # as POST /_localaws/reset does
    assert every_item(client) == []
    client.put_metric_alarm(**ALARM)
    assert [item["HistorySummary"] for item in every_item(client)] == ['Alarm "latency" created']


# --- through the endpoint ------------------------------------------------------------------------------------


@pytest.fixture
def endpoint(started: Callable[..., Instance], monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Credentials]]:
    """The local AWS's endpoint (its trust boundary, IAM enforced) before CloudWatch, and its own credentials."""
    from moto import settings

    # IAM's start enforces signatures and policies process-wide: undone after the test.
    monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", settings.INITIAL_NO_AUTH_ACTION_COUNT)
    started([Iam(), CloudWatch()])
    own = credentials.generate()
    principals.register_admin(own)
    gateway = Gateway("127.0.0.1", 0, Boundary([], own.access_key_id), [])
    gateway.start()
    yield gateway.endpoint, own
    gateway.stop()


def test_the_aws_cli_reads_the_history_through_the_endpoint(endpoint: tuple[str, Credentials], tmp_path: Path) -> None:
    url, own = endpoint
    keys = {"aws_access_key_id": own.access_key_id, "aws_secret_access_key": own.secret_access_key}
    client = boto3.client("cloudwatch", endpoint_url=url, region_name=REGION, **keys)
    client.put_metric_alarm(**ALARM)
    for state in ("ALARM", "OK"):
        client.set_alarm_state(AlarmName="latency", StateValue=state, StateReason=f"to {state}")
    expected = every_item(client, ScanBy="TimestampAscending")
    assert len(expected) == 3
    for protocol in ("query", "json"):
        assert every_item(speaking(protocol, tmp_path, endpoint_url=url, **keys), ScanBy="TimestampAscending") == (
            expected
        )

    environment = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "AWS_ACCESS_KEY_ID": own.access_key_id,
        "AWS_SECRET_ACCESS_KEY": own.secret_access_key, "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }  # fmt: skip

    def aws_cli(*args: str) -> Any:
        run = subprocess.run(
            [str(aws_cli_path()), "cloudwatch", *args, "--endpoint-url", url, "--output", "json"],
            env=environment, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout)

    # --page-size 1: the CLI asks for one record at a time and follows NextToken to the end.
    listed = aws_cli("describe-alarm-history", "--alarm-name", "latency", "--scan-by", "TimestampAscending",
                     "--page-size", "1")["AlarmHistoryItems"]  # fmt: skip
    assert [(item["HistoryItemType"], item["HistorySummary"]) for item in listed] == [
        (item["HistoryItemType"], item["HistorySummary"]) for item in expected
    ]
    assert [json.loads(item["HistoryData"]) for item in listed] == [data(item) for item in expected]
    changes = aws_cli("describe-alarm-history", "--history-item-type", "StateUpdate")["AlarmHistoryItems"]
    assert [item["HistorySummary"] for item in changes] == [
        "Alarm updated from ALARM to OK",
        "Alarm updated from INSUFFICIENT_DATA to ALARM",
    ]

    unknown = {"aws_access_key_id": "AKIAEXAMPLEEXAMPLE00", "aws_secret_access_key": "x" * 40}
    signed_by_no_one = boto3.client("cloudwatch", endpoint_url=url, region_name=REGION, **unknown)
    with pytest.raises(ClientError):
        signed_by_no_one.describe_alarm_history()
