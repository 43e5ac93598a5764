"""Alarm history on the session's local AWS: a stack alarm's changes from DescribeAlarmHistory, its ALARM periods and
the orders that failed in them, in the backend and in the Overview's "Alarm history" section."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import backend
from backend import alarm_history, aws
from backend.executions import Outcome
from lambdas.domain.order import PaymentMethod
from tests.conftest import PROJECT_ROOT, operator_caller, order_request, poll

# Text that would be markup if a page rendered it: it must come back as typed.
MARKUP_REASON = '<b>gateway</b> down <script>alert("x")</script> [link](http://example.com)'


def _history_of(label: str) -> alarm_history.AlarmHistory:
    report = alarm_history.recent_history()
    (found,) = [history for history in report.alarms if history.alarm.label == label]
    return found


def _stack_alarm(label: str, missing: str) -> str:
    """An alarm of the stack's (named as CloudFormation names the template's) on a metric that gets no data."""
    name = f"{aws.connection().stack_name}-{label}-{uuid.uuid4().hex[:8]}"
    aws.client("cloudwatch").put_metric_alarm(
        AlarmName=name, Namespace="Test", MetricName=f"Nothing-{uuid.uuid4().hex[:6]}", Statistic="Sum", Period=60,
        EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold", TreatMissingData=missing,
    )  # fmt: skip
    return name


@pytest.fixture
def probe(local_aws: Any) -> Iterator[str]:
    """A stack alarm that only SetAlarmState moves: missing data is ignored, so the evaluation leaves it alone."""
    name = _stack_alarm("HistoryProbe", "ignore")
    yield name
    aws.client("cloudwatch").delete_alarms(AlarmNames=[name])


@pytest.fixture
def quiet(local_aws: Any) -> Iterator[str]:
    """A stack alarm whose evaluation says OK: its metric gets no data and missing data is not breaching.

    Not one of the template's alarms: the session's other tests run slow orders that may keep those in ALARM."""
    name = _stack_alarm("QuietProbe", "notBreaching")
    yield name
    aws.client("cloudwatch").delete_alarms(AlarmNames=[name])


def test_a_stack_alarm_set_to_alarm_and_back_shows_its_changes_its_period_and_the_orders_that_failed_in_it(
    probe: str,
) -> None:
    cloudwatch = aws.client("cloudwatch")
    cloudwatch.set_alarm_state(AlarmName=probe, StateValue="ALARM", StateReason=MARKUP_REASON)
    (failing,) = backend.submit_orders([order_request(PaymentMethod.TIMEOUT_ALWAYS)], caller=operator_caller())
    ended = backend.wait_for_orders([failing.order_id], timeout_seconds=60)[failing.order_id]
    assert ended.outcome is Outcome.FAILED
    cloudwatch.set_alarm_state(AlarmName=probe, StateValue="OK", StateReason="the gateway answers again")

    history = _history_of("HistoryProbe")
    assert [(c.from_state, c.to_state, c.reason) for c in history.changes] == [
        ("ALARM", "OK", "the gateway answers again"),
        ("INSUFFICIENT_DATA", "ALARM", MARKUP_REASON),
    ]
    assert history.changes[0].at >= history.changes[1].at
    (period,) = history.periods
    assert (period.start, period.end) == (history.changes[1].at, history.changes[0].at)
    assert period.watched_from is None  # set by hand: no data fired it
    assert ended.stopped_at is not None
    assert period.start is not None
    assert period.end is not None
    assert period.start <= ended.stopped_at <= period.end
    listed = {order.order_id: order for order in period.failed}
    assert failing.order_id in listed
    assert period.failed_count == len(listed)
    assert (listed[failing.order_id].outcome, listed[failing.order_id].error) == (Outcome.FAILED, "OrderFailed")
    assert all(period.start <= order.stopped_at <= period.end for order in period.failed if order.stopped_at)

    # The Overview shows the same: the changes (the reason as plain text), the period and a link to the order.
    import streamlit as st

    st.cache_data.clear()
    app = AppTest.from_file(str(PROJECT_ROOT / "streamlit_app.py"), default_timeout=60)
    app.run()
    assert not app.exception
    assert "Alarm history" in [header.value for header in app.subheader]
    frames = [frame.value for frame in app.dataframe]
    changes = next(frame for frame in frames if "Change" in frame.columns)
    probe_rows = changes[changes["Alarm"] == "HistoryProbe"]
    assert list(probe_rows["Change"]) == ["ALARM → OK", "INSUFFICIENT_DATA → ALARM"]
    assert list(probe_rows["Reason"]) == ["the gateway answers again", MARKUP_REASON]
    assert str(probe_rows["Time"].dt.tz) == "UTC"
    periods = next(frame for frame in frames if "Failed orders" in frame.columns)
    (row,) = periods[periods["Alarm"] == "HistoryProbe"].to_dict("records")
    assert row["From"].endswith(" UTC")
    assert row["To"].endswith(" UTC")
    assert row["Duration"].endswith(" s")
    assert row["Failed orders"] == period.failed_count
    failed = next(frame for frame in frames if "In ALARM from" in frame.columns)
    links = list(failed[failed["Alarm"] == "HistoryProbe"]["Order"])
    assert f"order?order={failing.order_id}" in links
    # Nothing of the reason reached the page as markup.
    assert not any("<script>" in (element.value or "") for element in [*app.markdown, *app.caption])


def test_an_alarm_set_to_alarm_by_hand_is_put_back_by_its_evaluation_and_the_period_is_closed(quiet: str) -> None:
    cloudwatch = aws.client("cloudwatch")
    poll(
        lambda: cloudwatch.describe_alarms(AlarmNames=[quiet])["MetricAlarms"][0]["StateValue"] == "OK",
        timeout=40,
        what="the first evaluation to say OK",
    )
    cloudwatch.set_alarm_state(AlarmName=quiet, StateValue="ALARM", StateReason="an operator's drill")
    # The local AWS evaluates its alarms every 10 s: with no data, the next evaluation ends the drill.
    poll(
        lambda: cloudwatch.describe_alarms(AlarmNames=[quiet])["MetricAlarms"][0]["StateValue"] == "OK",
        timeout=40,
        what="the evaluation to end the ALARM",
    )
    history = _history_of("QuietProbe")
    back, drill, first = history.changes
    assert (first.from_state, first.to_state) == ("INSUFFICIENT_DATA", "OK")
    assert (drill.from_state, drill.to_state, drill.reason) == ("OK", "ALARM", "an operator's drill")
    assert (back.from_state, back.to_state) == ("ALARM", "OK")
    assert back.reason.startswith("Threshold Crossed")
    assert back.watched_from is not None
    assert back.watched_from < back.at
    (period,) = history.periods
    assert (period.start, period.end) == (drill.at, back.at)
    duration = period.duration(back.at)
    assert duration is not None
    assert duration.total_seconds() > 0
