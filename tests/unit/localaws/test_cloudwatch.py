"""CloudWatch (localaws.services.cloudwatch): statistics with percentiles, the metric store, the template's alarms, the
telemetry's datapoints, datapoints and alarm states journaled and restored, each correction in place once."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from localaws.services import patches
from localaws.services.cloudwatch import provider
from localaws.services.cloudwatch.cloudformation import stable_name
from localaws.services.cloudwatch.metrics import publish
from localaws.services.cloudwatch.provider import CloudWatch
from localaws.services.cloudwatch.retention import retain_metrics
from tests.unit.localaws.conftest import Instance, assert_applied_once, current, made_by

REGION = "us-east-1"


@pytest.fixture(scope="module", autouse=True)
def _corrected() -> None:
    patches.apply_all(CloudWatch.corrections)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield


def test_a_correction_applied_again_is_not_applied_twice() -> None:
    assert_applied_once(CloudWatch.corrections)
    backend = "moto.cloudwatch.models:CloudWatchBackend"
    # Two corrections on one target, each once, the journal's outside: it wraps what the fixes made.
    assert made_by(current(f"{backend}.put_metric_data")) == ["CloudWatch journal", "CloudWatch values with counts"]
    assert made_by(current(f"{backend}.put_metric_alarm")) == [
        "CloudWatch alarm state journal",
        "CloudWatch alarm initial state",
    ]
    assert {(a.correction, a.kind) for a in patches.applied()} == {(c.name, c.kind) for c in CloudWatch.corrections}


# --- statistics and the metric store ---------------------------------------------------------------------------


def metric_values(cloudwatch: Any, minute: Any, name: str, stat: str, dimensions: Any) -> list[float]:
    """One statistic of an AWS/States metric per minute, within five minutes of minute."""
    metric = {"Namespace": "AWS/States", "MetricName": name, "Dimensions": dimensions}
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=[{"Id": "q", "MetricStat": {"Metric": metric, "Period": 60, "Stat": stat}}],
        StartTime=minute - timedelta(minutes=5),
        EndTime=minute + timedelta(minutes=5),
    )
    return answer["MetricDataResults"][0]["Values"]


def test_metric_data_has_percentiles_exact_dimensions_and_values_with_counts(aws: None) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    machine = [{"Name": "StateMachineArn", "Value": "m"}]
    cloudwatch.put_metric_data(
        Namespace="AWS/States",
        MetricData=[{"MetricName": "ExecutionTime", "Dimensions": machine, "Timestamp": minute,
                     "Values": [100, 200, 1000], "Counts": [50, 40, 10], "Unit": "Milliseconds"}],
    )  # fmt: skip
    cloudwatch.put_metric_data(Namespace="AWS/States", MetricData=[{"MetricName": "ExecutionTime", "Value": 9}])
    cloudwatch.put_metric_data(
        Namespace="Other", MetricData=[{"MetricName": "ExecutionTime", "Dimensions": machine, "Value": 5}]
    )
    cloudwatch.put_metric_data(
        Namespace="AWS/States",
        MetricData=[{"MetricName": "Set", "Dimensions": machine, "Timestamp": minute,
                     "StatisticValues": {"SampleCount": 3, "Sum": 6, "Minimum": 1, "Maximum": 3}}],
    )  # fmt: skip

    def query(stat: str, name: str = "ExecutionTime", dimensions: Any = machine) -> list[float]:
        return metric_values(cloudwatch, minute, name, stat, dimensions)

    assert [query(p) for p in ("p50", "p90", "p99")] == [[100.0], [200.0], [1000.0]]
    assert (query("Sum"), query("SampleCount"), query("Average")) == ([23000.0], [100.0], [230.0])
    assert query("Sum", dimensions=[]) == [9.0]  # only the series without dimensions, of this namespace
    assert (query("Sum", "Set"), query("Maximum", "Set"), query("p90", "Set")) == ([6.0], [3.0], [])
    statistics = cloudwatch.get_metric_statistics(
        Namespace="AWS/States", MetricName="ExecutionTime", Dimensions=machine, Statistics=["Sum", "SampleCount"],
        StartTime=minute - timedelta(minutes=5), EndTime=minute + timedelta(minutes=5), Period=600,
    )["Datapoints"]  # fmt: skip
    assert [(d["Sum"], d["SampleCount"]) for d in statistics] == [(23000.0, 100.0)]
    # Periods on the StartTime's boundaries (moto began them at the first datum), pNN and the unit answered.
    by_minute = cloudwatch.get_metric_statistics(
        Namespace="AWS/States", MetricName="ExecutionTime", Dimensions=machine, Statistics=["Maximum"],
        ExtendedStatistics=["p90"], StartTime=minute - timedelta(minutes=5), EndTime=minute + timedelta(minutes=5),
        Period=60,
    )["Datapoints"]  # fmt: skip
    assert [(p["Timestamp"], p["ExtendedStatistics"]["p90"], p["Maximum"], p["Unit"]) for p in by_minute] == [
        (minute, 200.0, 1000.0, "Milliseconds")
    ]


def test_metric_store_merges_a_series_minute_and_drops_old_datapoints(aws: None) -> None:
    from moto.cloudwatch.models import cloudwatch_backends

    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)
    machine = [{"Name": "StateMachineArn", "Value": "m"}]
    for values, counts, low, high in (([100, 200], [3, 1], 1, 4), ([200, 300], [2, 1], 0.5, 2)):
        cloudwatch.put_metric_data(
            Namespace="AWS/States",
            MetricData=[
                {"MetricName": "ExecutionTime", "Dimensions": machine, "Timestamp": minute, "Values": values,
                 "Counts": counts, "Unit": "Milliseconds"},
                {"MetricName": "Started", "Dimensions": machine, "Timestamp": minute, "Unit": "Count",
                 "StatisticValues": {"SampleCount": 2, "Sum": 3, "Minimum": low, "Maximum": high}},
            ],
        )  # fmt: skip
    store = cloudwatch_backends[DEFAULT_ACCOUNT_ID][REGION].metric_data
    assert len(store) == 4  # one statistic set, three distinct values

    def query(name: str, stat: str) -> list[float]:
        return metric_values(cloudwatch, minute, name, stat, machine)

    assert [query("ExecutionTime", s)[0] for s in ("SampleCount", "Sum", "p50", "p90", "Maximum")] == [
        7.0, 1200.0, 200.0, 300.0, 300.0,
    ]  # fmt: skip
    assert [query("Started", s)[0] for s in ("SampleCount", "Sum", "Minimum", "Maximum")] == [4.0, 6.0, 0.5, 4.0]
    assert retain_metrics(3600) == 0
    assert retain_metrics(60) == 4
    assert (len(store), query("Started", "Sum")) == (0, [])


def test_the_telemetrys_datapoints_are_stored_as_a_requests_are(aws: None) -> None:
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    naive = minute.replace(tzinfo=None)  # as moto's request parser gives timestamps
    machine = [{"Name": "StateMachineArn", "Value": "m"}]
    for low, high in ((1.0, 2.0), (0.5, 4.0)):
        publish(DEFAULT_ACCOUNT_ID, REGION, "AWS/States", [
            {"MetricName": "Started", "Dimensions": machine, "Timestamp": naive, "Unit": "Count",
             "StatisticValues": {"SampleCount": 2, "Sum": 3, "Minimum": low, "Maximum": high}},
            {"MetricName": "ExecutionTime", "Dimensions": machine, "Timestamp": naive, "Values": [10.0, 30.0],
             "Counts": [3, 1]},
        ])  # fmt: skip
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    assert [metric_values(cloudwatch, minute, "Started", s, machine)[0] for s in ("Sum", "Minimum", "Maximum")] == [
        6.0, 0.5, 4.0,
    ]  # fmt: skip
    assert metric_values(cloudwatch, minute, "ExecutionTime", "p75", machine) == [10.0]  # 6 of 8 at 10


# --- the template's alarms -------------------------------------------------------------------------------------

TEMPLATE = {
    "Resources": {
        "Failures": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "Namespace": "AWS/States", "MetricName": "ExecutionsFailed", "Statistic": "Sum", "Period": 60,
                "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
            },
        },
        "Named": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": "named", "Namespace": "N", "MetricName": "M", "Statistic": "Sum", "Period": 60,
                "EvaluationPeriods": 1, "Threshold": 5, "ComparisonOperator": "LessThanThreshold",
            },
        },
    },
    "Outputs": {"FailuresArn": {"Value": {"Fn::GetAtt": ["Failures", "Arn"]}}},
}  # fmt: skip


def test_the_templates_alarms_are_made_with_names_that_stay_the_same_from_stack_to_stack(aws: None) -> None:
    cloudformation, cloudwatch = boto3.client("cloudformation"), boto3.client("cloudwatch")

    def deploy() -> tuple[list[dict[str, Any]], str]:
        cloudformation.create_stack(StackName="orders", TemplateBody=json.dumps(TEMPLATE))
        (stack,) = cloudformation.describe_stacks(StackName="orders")["Stacks"]
        return cloudwatch.describe_alarms()["MetricAlarms"], stack["Outputs"][0]["OutputValue"]

    alarms, arn = deploy()
    by_name = {alarm["AlarmName"]: alarm for alarm in alarms}
    (generated,) = set(by_name) - {"named"}
    assert generated == stable_name(f"orders-Failures-{'X' * 12}")
    assert (by_name[generated]["AlarmArn"], by_name[generated]["StateValue"]) == (arn, "INSUFFICIENT_DATA")
    assert (by_name["named"]["Threshold"], by_name["named"]["ComparisonOperator"]) == (5.0, "LessThanThreshold")

    cloudformation.delete_stack(StackName="orders")
    assert cloudwatch.describe_alarms()["MetricAlarms"] == []
    assert deploy()[1] == arn  # made again at the next start: the same name, so its journaled state comes back


# --- the provider: datapoints and alarm states journaled, retention and evaluation --------------------------------


def _the_stacks_alarm() -> None:
    boto3.client("cloudwatch", region_name=REGION).put_metric_alarm(
        AlarmName="latency", Namespace="Test", MetricName="Latency", Statistic="Average", Period=60,
        EvaluationPeriods=1, Threshold=5, ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip  # made again at each start


@pytest.fixture
def instance(started: Callable[..., Instance]) -> Instance:
    """The CloudWatch service started on a journal, with the stack's alarm."""
    return started([CloudWatch()], deploy=_the_stacks_alarm)


def _alarm() -> dict[str, Any]:
    (made,) = boto3.client("cloudwatch", region_name=REGION).describe_alarms(AlarmNames=["latency"])["MetricAlarms"]
    return {key: value for key, value in made.items() if key.startswith("State")}


def test_datapoints_and_alarm_states_are_on_disk_when_acknowledged_and_come_back(instance: Instance) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    assert instance.on_disk("SELECT state, reason FROM alarm_states") == [
        ("INSUFFICIENT_DATA", "Unchecked: Initial alarm creation")
    ]
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    cloudwatch.put_metric_data(Namespace="Test", MetricData=[
        {"MetricName": "Latency", "Values": [1.0, 9.0], "Counts": [90, 10], "Timestamp": minute},
        {"MetricName": "Latency", "Value": 9.0, "Timestamp": minute},
        {"MetricName": "Calls", "StatisticValues": {"SampleCount": 3, "Sum": 6, "Minimum": 1, "Maximum": 3}},
    ])  # fmt: skip
    assert len(instance.on_disk("SELECT value FROM metric_values")) == 2  # 9.0 counted 11 times in one row
    cloudwatch.set_alarm_state(AlarmName="latency", StateValue="ALARM", StateReason="by hand")
    assert instance.on_disk("SELECT state FROM alarm_states") == [("ALARM",)]

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

    shown, alarm_before = figures(), _alarm()
    assert shown == [("m0", [9.0]), ("m1", [101.0]), ("m2", [6.0])]

    # The alarm history: its creation and its change of state (test_cloudwatch_alarm_history.py).
    assert instance.restart() == {"datapoints": 3, "alarm_states": 1, "alarm_history": 2}
    assert figures() == shown
    assert _alarm() == alarm_before

    boto3.client("cloudwatch", region_name=REGION).delete_alarms(AlarmNames=["latency"])
    instance.journal.flush()
    assert instance.on_disk("SELECT state FROM alarm_states") == []


def test_housekeeping_keeps_the_retention_and_evaluates_alarms_every_ten_seconds(
    instance: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    evaluated: list[float] = []
    monkeypatch.setattr(provider, "evaluate_alarms", evaluated.append)
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    cloudwatch.put_metric_data(Namespace="Test", MetricData=[{"MetricName": "Latency", "Value": 9.0}])
    now = time.time()
    for passed in range(0, 30, 5):  # the janitor's passes, every 5 s
        instance.service.housekeep(now + passed, instance.options)
    assert evaluated == [now, now + 10, now + 20]
    assert len(instance.on_disk("SELECT value FROM metric_values")) == 1

    instance.service.housekeep(now + instance.options.retention_hours * 3600 + 1, instance.options)
    instance.journal.flush()
    assert instance.on_disk("SELECT value FROM metric_values") == []
    assert instance.restart()["datapoints"] == 0


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-northeast-1"])
def test_every_region_keeps_its_own_metrics_and_alarms(aws: None, region: str) -> None:
    # The stack lives in us-east-1, but the APIs answer in every region: never an empty answer without an error.
    cloudwatch = boto3.client("cloudwatch", region_name=region)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    cloudwatch.put_metric_data(Namespace="Test", MetricData=[{"MetricName": "m", "Value": 3.0, "Timestamp": now}])
    cloudwatch.put_metric_alarm(
        AlarmName="a", Namespace="Test", MetricName="m", Statistic="Sum", Period=60, EvaluationPeriods=1,
        Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=[{"Id": "q", "MetricStat": {"Metric": {"Namespace": "Test", "MetricName": "m"},
                                                      "Period": 60, "Stat": "Sum"}}],
        StartTime=now - timedelta(minutes=1), EndTime=now + timedelta(minutes=1),
    )  # fmt: skip
    assert answer["MetricDataResults"][0]["Values"] == [3.0]
    assert [alarm["AlarmName"] for alarm in cloudwatch.describe_alarms()["MetricAlarms"]] == ["a"]
    other = "us-west-2"
    assert boto3.client("cloudwatch", region_name=other).describe_alarms()["MetricAlarms"] == []
