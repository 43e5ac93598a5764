"""Local alarm evaluation (localaws.services.cloudwatch): metric math, thresholds, M of N, missing data, and alarms
judged in moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localaws.services import patches
from localaws.services.cloudwatch.alarms import SETTLE_SECONDS, evaluate_alarms, judge
from localaws.services.cloudwatch.math import ExpressionError, evaluate_expression
from localaws.services.cloudwatch.provider import CloudWatch

REGION = "us-east-1"
T0 = datetime(2026, 11, 26, 23, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("failed - FILL(rejected, 0) - FILL(declined, 0)", [None, 3.0, 1.0]),
        ("failed - rejected", [None, None, 1.0]),
        ("(failed + 1) * 2 / 4", [None, 2.5, 2.0]),
        ("-failed + 10", [None, 6.0, 7.0]),
        ("failed / FILL(rejected, 0)", [None, None, 1.5]),  # dividing by zero gives no point
        ("FILL(failed, -1)", [-1.0, 4.0, 3.0]),
        ("7", [7.0, 7.0, 7.0]),
    ],
)
def test_metric_math(expression: str, expected: list[float | None]) -> None:
    series = {"failed": [None, 4.0, 3.0], "rejected": [None, None, 2.0], "declined": [5.0, 1.0, None]}
    assert evaluate_expression(expression, series, 3) == expected


@pytest.mark.parametrize(
    "expression",
    ["__import__('os')", "failed.real", "failed ** 2", "unknown + 1", "FILL(failed, rejected)", "SUM(failed)", "1 +"],
)
def test_metric_math_outside_the_subset_is_refused(expression: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate_expression(expression, {"failed": [1.0], "rejected": [2.0]}, 1)


def _points(*values: float | None) -> list[tuple[datetime, float | None]]:
    return [(T0 + timedelta(minutes=index), value) for index, value in enumerate(values)]


@pytest.mark.parametrize(
    ("values", "comparison", "threshold", "m", "treat", "state"),
    [
        ((3.0,), "GreaterThanThreshold", 0, None, "notBreaching", "ALARM"),
        ((0.0,), "GreaterThanThreshold", 0, None, "notBreaching", "OK"),
        ((0.0,), "GreaterThanOrEqualToThreshold", 0, None, None, "ALARM"),
        ((5.0,), "LessThanThreshold", 5, None, None, "OK"),
        ((5.0,), "LessThanOrEqualToThreshold", 5, None, None, "ALARM"),
        ((1.0, 0.0, 1.0), "GreaterThanThreshold", 0, 2, None, "ALARM"),  # 2 of 3
        ((1.0, 0.0, 0.0), "GreaterThanThreshold", 0, 2, None, "OK"),
        ((1.0, 1.0, 0.0), "GreaterThanThreshold", 0, None, None, "OK"),  # 3 of 3 needed
        ((None,), "GreaterThanThreshold", 0, None, "notBreaching", "OK"),
        ((None,), "GreaterThanThreshold", 0, None, "breaching", "ALARM"),
        ((None,), "GreaterThanThreshold", 0, None, "missing", "INSUFFICIENT_DATA"),
        ((None,), "GreaterThanThreshold", 0, None, None, "INSUFFICIENT_DATA"),
        ((None,), "GreaterThanThreshold", 0, None, "ignore", None),  # the state stays
        ((None, 2.0, None), "GreaterThanThreshold", 0, 2, "breaching", "ALARM"),
        ((None, 2.0, None), "GreaterThanThreshold", 0, 2, "notBreaching", "OK"),
        ((None, 2.0, 3.0), "GreaterThanThreshold", 0, 2, "ignore", "ALARM"),
    ],
)
def test_judge(
    values: tuple[float | None, ...], comparison: str, threshold: float, m: int | None, treat: str, state: str | None
) -> None:
    assert judge(_points(*values), comparison, threshold, m, treat, "OK").state == state


def test_reasons_read_as_aws_writes_them() -> None:
    alarm = judge(_points(3.0), "GreaterThanThreshold", 0, None, "notBreaching", "OK")
    assert alarm.reason == (
        "Threshold Crossed: 1 out of the last 1 datapoints [3.0 (26/11/26 23:08:00)] was greater than the threshold "
        "(0.0) (minimum 1 datapoint for OK -> ALARM transition)."
    )
    ok = judge(_points(0.0, 0.0), "GreaterThanThreshold", 0, None, "notBreaching", "ALARM")
    assert ok.reason == (
        "Threshold Crossed: 2 datapoints [0.0 (26/11/26 23:09:00), 0.0 (26/11/26 23:08:00)] were not greater than "
        "the threshold (0.0)."
    )
    quiet = judge(_points(None), "GreaterThanThreshold", 0, None, "notBreaching", "ALARM")
    assert quiet.reason == (
        "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as "
        "[NonBreaching]."
    )
    unknown = judge(_points(None, None), "GreaterThanThreshold", 0, None, "missing", "OK")
    assert unknown.reason == "Insufficient Data: 2 datapoints were unknown."


# --- in moto ---------------------------------------------------------------------------------------------


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    patches.apply_all(CloudWatch.corrections)
    with mock_aws():
        yield


def _state(cloudwatch: Any, name: str) -> dict[str, Any]:
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return alarm


def test_an_alarm_starts_insufficient_data_and_an_update_keeps_its_state(aws: None) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    settings: Any = {
        "AlarmName": "a", "Namespace": "N", "MetricName": "M", "Statistic": "Sum", "Period": 60,
        "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
    }  # fmt: skip
    cloudwatch.put_metric_alarm(**settings)
    created = _state(cloudwatch, "a")
    assert (created["StateValue"], created["StateReason"]) == ("INSUFFICIENT_DATA", "Unchecked: Initial alarm creation")
    cloudwatch.set_alarm_state(AlarmName="a", StateValue="ALARM", StateReason="by hand")
    cloudwatch.put_metric_alarm(**settings | {"Threshold": 5})
    updated = _state(cloudwatch, "a")
    assert (updated["StateValue"], updated["StateReason"], updated["Threshold"]) == ("ALARM", "by hand", 5.0)


def test_metric_math_alarm_goes_to_alarm_and_back_and_notifies_its_topic(aws: None) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="alarms")["TopicArn"]
    inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"})

    def stat(metric: str, namespace: str) -> dict[str, Any]:
        return {"Metric": {"Namespace": namespace, "MetricName": metric}, "Period": 60, "Stat": "Sum"}

    cloudwatch.put_metric_alarm(
        AlarmName="technical",
        Metrics=[
            {"Id": "technical", "Expression": "failed - FILL(declined, 0)", "ReturnData": True},
            {"Id": "failed", "MetricStat": stat("ExecutionsFailed", "AWS/States"), "ReturnData": False},
            {"Id": "declined", "MetricStat": stat("PaymentsDeclined", "OrderPipeline"), "ReturnData": False},
        ],
        EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching",
        AlarmActions=[topic], OKActions=[topic],
    )  # fmt: skip
    minute = datetime(2026, 11, 26, 23, 10, tzinfo=UTC)
    after = (minute + timedelta(minutes=1, seconds=SETTLE_SECONDS + 2)).timestamp()
    cloudwatch.put_metric_data(
        Namespace="AWS/States", MetricData=[{"MetricName": "ExecutionsFailed", "Value": 5, "Timestamp": minute}]
    )
    cloudwatch.put_metric_data(
        Namespace="OrderPipeline", MetricData=[{"MetricName": "PaymentsDeclined", "Value": 2, "Timestamp": minute}]
    )
    assert evaluate_alarms(after) == 1
    alarm = _state(cloudwatch, "technical")
    assert alarm["StateValue"] == "ALARM"
    assert "1 out of the last 1 datapoints [3.0 (26/11/26 23:10:00)]" in alarm["StateReason"]
    data = json.loads(alarm["StateReasonData"])
    assert (data["recentDatapoints"], data["startDate"]) == ([3.0], "2026-11-26T23:10:00.000+0000")
    since = alarm["StateUpdatedTimestamp"]
    assert evaluate_alarms(after + 5) == 0  # no transition: the time of the last change stays
    assert _state(cloudwatch, "technical")["StateUpdatedTimestamp"] == since

    assert evaluate_alarms(after + 60) == 1  # the next minute has no failures
    assert _state(cloudwatch, "technical")["StateValue"] == "OK"
    messages = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)["Messages"]
    states = [(json.loads(m["Body"])["OldStateValue"], json.loads(m["Body"])["NewStateValue"]) for m in messages]
    assert states == [("INSUFFICIENT_DATA", "ALARM"), ("ALARM", "OK")]
