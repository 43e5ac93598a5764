"""Alarms on the session's local AWS: evaluated against the metrics as the template declares them, shown on Overview,
and the demo from the command line."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import backend
from backend import alarm_history, alarms, aws
from backend.executions import Outcome
from lambdas.domain.order import PaymentMethod
from tests.conftest import PROJECT_ROOT, operator_caller, order_request, poll


def _recent_minutes() -> list[datetime]:
    """This minute and the three before: whichever minute the next evaluation judges, it is one of these."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return [now - timedelta(minutes=back) for back in range(4)]


def _alarm(name: str) -> dict[str, Any]:
    (alarm,) = aws.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return alarm


def test_an_alarm_turns_on_breaching_data_and_back_when_it_falls_under_the_threshold(local_aws: Any) -> None:
    cloudwatch = aws.client("cloudwatch")
    name, metric = f"test-latency-{uuid.uuid4().hex[:6]}", f"Latency-{uuid.uuid4().hex[:6]}"
    cloudwatch.put_metric_alarm(
        AlarmName=name, Namespace="Test", MetricName=metric, Statistic="Average", Period=60, EvaluationPeriods=1,
        Threshold=5, ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching",
    )  # fmt: skip
    assert _alarm(name)["StateValue"] == "INSUFFICIENT_DATA"
    data = [{"MetricName": metric, "Value": 10.0, "Timestamp": minute} for minute in _recent_minutes()]
    cloudwatch.put_metric_data(Namespace="Test", MetricData=data)
    alarm = poll(lambda: (a := _alarm(name))["StateValue"] == "ALARM" and a, timeout=30, what="the alarm to fire")
    assert "datapoints [10.0 (" in alarm["StateReason"]
    assert "was greater than the threshold (5.0)" in alarm["StateReason"]
    assert json.loads(alarm["StateReasonData"])["recentDatapoints"] == [10.0]

    # A hundred zeros in the same minutes bring the average under the threshold.
    zeros = [{"MetricName": metric, "Values": [0.0], "Counts": [100.0], "Timestamp": m} for m in _recent_minutes()]
    cloudwatch.put_metric_data(Namespace="Test", MetricData=zeros)
    ok = poll(lambda: (a := _alarm(name))["StateValue"] == "OK" and a, timeout=30, what="the alarm to clear")
    assert "was not greater than the threshold (5.0)" in ok["StateReason"]
    assert ok["StateUpdatedTimestamp"] > alarm["StateUpdatedTimestamp"]
    cloudwatch.delete_alarms(AlarmNames=[name])


def test_the_templates_dlq_alarm_fires_on_dead_lettered_messages_and_tells_the_alarm_topic(local_aws: Any) -> None:
    sqs, cloudwatch = aws.client("sqs"), aws.client("cloudwatch")
    dlq_url = aws.resources().dead_letter_queue_url
    assert dlq_url
    dlq_name = dlq_url.rsplit("/", 1)[-1]
    stack = aws.connection().stack_name
    outputs = aws.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
    topic = next(o["OutputValue"] for o in outputs if o["OutputKey"] == "AlarmTopicArn")
    inbox = sqs.create_queue(QueueName=f"alarm-inbox-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    (dlq_alarm,) = [a for a in alarms.stack_alarms() if a.label == "DeadLetterQueueNotEmptyAlarm"]
    # Other tests may have dead-lettered messages already: start from OK, as SetAlarmState lets a test do on AWS.
    cloudwatch.set_alarm_state(AlarmName=dlq_alarm.name, StateValue="OK", StateReason="the test starts from OK")

    sqs.send_message(QueueUrl=dlq_url, MessageBody="dead-lettered")
    try:
        # The local AWS publishes the queue's depth as AWS does; the alarm judges whole minutes, so the minutes
        # before this one get the depth too rather than waiting for this one to end.
        def depth() -> float:
            now = datetime.now(UTC)
            answer = cloudwatch.get_metric_statistics(
                Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
                Dimensions=[{"Name": "QueueName", "Value": dlq_name}], StartTime=now - timedelta(minutes=1),
                EndTime=now + timedelta(minutes=1), Period=60, Statistics=["Maximum"],
            )  # fmt: skip
            return max((point["Maximum"] for point in answer["Datapoints"]), default=0.0)

        poll(lambda: depth() >= 1, timeout=15, what="the DLQ depth metric")
        dimensions = [{"Name": "QueueName", "Value": dlq_name}]
        cloudwatch.put_metric_data(
            Namespace="AWS/SQS",
            MetricData=[
                {"MetricName": "ApproximateNumberOfMessagesVisible", "Dimensions": dimensions, "Value": 1.0,
                 "Timestamp": minute}
                for minute in _recent_minutes()[1:]
            ],
        )  # fmt: skip
        fired = poll(
            lambda: (a := _alarm(dlq_alarm.name))["StateValue"] == "ALARM" and a, timeout=30, what="the DLQ alarm"
        )
        assert "was greater than the threshold (0.0)" in fired["StateReason"]

        def notified() -> dict[str, Any] | None:
            for message in sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", []):
                body = json.loads(json.loads(message["Body"])["Message"])
                if (body["AlarmName"], body["NewStateValue"]) == (dlq_alarm.name, "ALARM"):
                    return body  # not the OK message of the test's own SetAlarmState, which runs the OK actions too
            return None

        body = poll(notified, timeout=10, what="the alarm topic's message")
        assert (body["OldStateValue"], body["NewStateValue"]) == ("OK", "ALARM")
    finally:
        for message in sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10).get("Messages", []):
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])


PAYMENT_ALARM = "ProcessPaymentErrorsAlarm"


def _payment_alarm_name() -> str:
    (alarm,) = [a for a in alarms.stack_alarms() if a.label == PAYMENT_ALARM]
    return alarm.name


def _payment_errors_by_minute(since: datetime) -> dict[datetime, float]:
    """process_payment's Lambda Errors per minute since then."""
    function = aws.resources().function_names["process_payment"]
    answer = aws.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda", MetricName="Errors", Dimensions=[{"Name": "FunctionName", "Value": function}],
        StartTime=since, EndTime=datetime.now(UTC) + timedelta(minutes=1), Period=60, Statistics=["Sum"],
    )  # fmt: skip
    return {point["Timestamp"]: point["Sum"] for point in answer["Datapoints"] if point["Sum"] > 0}


def test_a_payment_timeout_that_a_retry_absorbs_does_not_trip_the_payment_alarm(local_aws: Any) -> None:
    cloudwatch, name = aws.client("cloudwatch"), _payment_alarm_name()

    def quiet_minute() -> datetime | None:
        minute = datetime.now(UTC).replace(second=0, microsecond=0)
        return None if _payment_errors_by_minute(minute) else minute

    # An earlier test's failed payments in this minute would count with this order's: start in a minute without any.
    placed_at = poll(quiet_minute, timeout=70, what="a minute without payment errors")
    (order,) = backend.submit_orders([order_request(PaymentMethod.TIMEOUT_ONCE)], caller=operator_caller())
    ended = backend.wait_for_orders([order.order_id], timeout_seconds=60)[order.order_id]
    assert ended.outcome is Outcome.SUCCEEDED
    # Its first attempt timed out: one error, in one minute, which the alarm judges 10 s after the minute ends.
    errors = poll(lambda: _payment_errors_by_minute(placed_at), timeout=30, what="the payment error's metric")
    assert list(errors.values()) == [1.0]
    (minute,) = errors
    poll(lambda: datetime.now(UTC) >= minute + timedelta(seconds=72), timeout=90, what="the error's minute to settle")
    # From ALARM, the alarm's next evaluation (every 10 s) judges that minute: it says so, and turns OK.
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="the test starts from ALARM")
    judged = poll(
        lambda: (a := _alarm(name))["StateValue"] == "OK" and a, timeout=30, what="the payment alarm's verdict"
    )
    assert f"[1.0 ({minute:%d/%m/%y %H:%M:%S})]" in judged["StateReason"]
    assert "not greater than the threshold (2.0)" in judged["StateReason"]


def test_a_payment_outage_trips_the_payment_alarm_and_its_period_lists_the_failed_orders(local_aws: Any) -> None:
    cloudwatch, name = aws.client("cloudwatch"), _payment_alarm_name()
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="the test starts from OK")
    # The gateway is down: every attempt of these orders times out (one attempt and two retries each).
    placed = backend.submit_orders([order_request(PaymentMethod.TIMEOUT_ALWAYS)] * 3, caller=operator_caller())
    ended = backend.wait_for_orders([o.order_id for o in placed], timeout_seconds=90)
    assert {summary.outcome for summary in ended.values()} == {Outcome.FAILED}
    fired = poll(lambda: (a := _alarm(name))["StateValue"] == "ALARM" and a, timeout=120, what="the payment alarm")
    assert "was greater than the threshold (2.0)" in fired["StateReason"]

    (history,) = [h for h in alarm_history.recent_history().alarms if h.alarm.label == PAYMENT_ALARM]
    period = history.periods[0]
    assert period.watched_from is not None
    # The alarm fires after the minute it judged: the orders that failed in that minute are the period's.
    inside = {oid for oid, summary in ended.items() if summary.stopped_at and summary.stopped_at >= period.watched_from}
    assert inside
    assert inside <= {order.order_id for order in period.failed}


def test_overview_lists_the_stacks_alarms_with_state_since_and_reason(local_aws: Any) -> None:
    import streamlit as st

    st.cache_data.clear()
    app = AppTest.from_file(str(PROJECT_ROOT / "streamlit_app.py"), default_timeout=60)
    app.run()
    assert not app.exception
    (table,) = [frame.value for frame in app.dataframe if "Why" in frame.value.columns]
    assert set(table["Alarm"]) >= {"DeadLetterQueueNotEmptyAlarm", "WorkflowExecutionsFailedAlarm"}
    assert set(table["State"]) <= {"🔴 ALARM", "⚪ INSUFFICIENT_DATA", "🟢 OK"}
    assert all(since.endswith(" UTC") for since in table["Since"])
    assert all(reason.startswith(("Threshold Crossed", "Unchecked", "Insufficient")) for reason in table["Why"])
    assert "Alarms" in [header.value for header in app.subheader]


@pytest.mark.parametrize("speed", [40])
def test_the_demo_runs_from_the_command_line_at_speed(local_aws: Any, speed: int) -> None:
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "backend", "demo", "--speed", str(speed)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    said = [line.split("] ", 1)[1] for line in run.stdout.splitlines()]
    phases = [text.split(":")[0] for text in said if text.startswith(("steady", "incident", "recovery"))]
    assert phases == ["steady", "incident", "recovery"]
    assert said[-1].startswith("done: ")
    assert time.monotonic() - started < 30
