"""Overview: the numbers an operator checks first, judged red/amber/green, with links to the detail pages."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from backend.alarm_history import MAX_FAILED_SHOWN, AlarmPeriod
from backend.monitoring import rag
from pages.ui import data, times
from pages.ui.frame import page_frame
from pages.ui.widgets import format_duration, format_ms, format_rate, guarded, order_link_column, rag_badge

page_frame("Overview")
st.caption("Is work piling up, is anything dead-lettered, and how well did the last hour go. Refreshes every 10 s.")

# Thresholds: (amber at, red at). Any dead-lettered message needs a look; p90 above 5 s breaks the latency goal.
QUEUE_DEPTH = (100, 1_000)
DLQ_DEPTH = (1, 1)
RUNNING = (200, 1_000)
SUCCESS_RATE = (0.85, 0.70)  # higher is better
P90_MS = (2_000, 5_000)


@st.fragment(run_every="10s")
def tiles() -> None:
    numbers = guarded(data.overview)
    depth, dlq, running, success, latency = st.columns(5)
    with depth:
        st.metric(
            "Orders queue",
            numbers.queue_visible,
            border=True,
            help=f"Messages waiting to start; {numbers.queue_in_flight} being started now. "
            f"Amber from {QUEUE_DEPTH[0]}, red from {QUEUE_DEPTH[1]}.",
        )
        rag_badge(rag(numbers.queue_visible, *QUEUE_DEPTH))
    with dlq:
        st.metric(
            "Dead-letter queue",
            "–" if numbers.dlq_depth is None else numbers.dlq_depth,
            border=True,
            help="Messages that failed 5 deliveries (the queue's maxReceiveCount). Any message here needs a look: "
            "peek and redrive on Queues.",
        )
        rag_badge(rag(numbers.dlq_depth, *DLQ_DEPTH))
    with running:
        st.metric("Running", numbers.running, border=True, help="Workflow executions running now.")
        rag_badge(rag(numbers.running, *RUNNING))
    with success:
        st.metric(
            "Success rate (1 h)",
            format_rate(numbers.success_rate_1h),
            border=True,
            help=f"Succeeded / finished orders in the last hour ({numbers.finished_1h} finished). "
            "Rejections and declines count as not succeeded. Source: CloudWatch.",
        )
        rag_badge(rag(numbers.success_rate_1h, *SUCCESS_RATE, higher_is_better=True))
    with latency:
        st.metric(
            "p90 latency (1 h)",
            format_ms(numbers.p90_ms_1h),
            border=True,
            help="90th percentile of workflow execution time, last hour. Source: CloudWatch AWS/States ExecutionTime.",
        )
        rag_badge(rag(numbers.p90_ms_1h, *P90_MS))
    if numbers.finished_1h == 0 and numbers.running == 0 and numbers.queue_visible == 0:
        st.info(
            "No orders in the last hour: place one or send test orders, and these numbers come alive.",
            icon=":material/info:",
        )
        st.page_link("pages/place.py", label="Place order / send test orders", icon=":material/add_shopping_cart:")


tiles()

ALARM_MARKS = {"ALARM": "🔴 ALARM", "INSUFFICIENT_DATA": "⚪ INSUFFICIENT_DATA", "OK": "🟢 OK"}


@st.fragment(run_every="10s")
def alarms() -> None:
    st.subheader("Alarms")
    found = guarded(data.alarms)
    if not found:
        st.caption("The stack has no CloudWatch alarms.")
        return
    firing = [alarm.label for alarm in found if alarm.state == "ALARM"]
    st.caption(
        (f"{len(firing)} of {len(found)} in ALARM. " if firing else f"None of the {len(found)} alarms is in ALARM. ")
        + "The template's alarms as CloudWatch judges them (the local AWS evaluates them against its own metrics "
        "every 10 s, over whole periods). Refreshes every 10 s."
    )
    # A dataframe shows the reasons (AWS's text) as plain text, never as markup.
    frame = pd.DataFrame(
        {
            "State": [ALARM_MARKS[alarm.state] for alarm in found],
            "Alarm": [alarm.label for alarm in found],
            "Since": [times.fmt(alarm.since) for alarm in found],
            "Why": [alarm.reason for alarm in found],
            "What it watches": [alarm.description for alarm in found],
        }
    )
    st.dataframe(frame, width="stretch", hide_index=True, key="alarm_table")


alarms()


@st.fragment(run_every="30s")
def alarm_history() -> None:
    st.subheader("Alarm history")
    report = guarded(data.alarm_history)
    st.caption(
        "Every change of state of the stack's alarms in the last 24 h (CloudWatch's alarm history), newest first, the "
        "times each spent in ALARM, and the orders that failed meanwhile. Refreshes every 30 s."
    )
    changes = sorted(
        ((history.alarm.label, change) for history in report.alarms for change in history.changes),
        key=lambda pair: pair[1].at,
        reverse=True,
    )
    if not changes:
        st.caption("No alarm changed state in the last 24 h.")
    else:
        # Dataframes show the reasons (AWS's text, or whoever set the state) as plain text, never as markup.
        frame = pd.DataFrame(
            {
                "Time": times.column(change.at for _, change in changes),
                "Alarm": [label for label, _ in changes],
                "Change": [f"{change.from_state} → {change.to_state}" for _, change in changes],
                "Reason": [change.reason for _, change in changes],
            }
        )
        config = {"Time": times.datetime_column("Time")}
        st.dataframe(frame, width="stretch", hide_index=True, column_config=config, key="alarm_changes")
    truncated = [history.alarm.label for history in report.alarms if history.truncated]
    if truncated:
        st.caption(f"Only the newest changes are shown for {', '.join(truncated)}.")
    periods = sorted(
        ((history.alarm.label, period) for history in report.alarms for period in history.periods),
        key=lambda pair: pair[1].start or report.since,
        reverse=True,
    )
    if not periods:
        return
    st.markdown("**Time in ALARM**")
    st.dataframe(
        pd.DataFrame(
            {
                "Alarm": [label for label, _ in periods],
                "From": [_period_start(period.start) for _, period in periods],
                "To": [times.fmt(period.end) if period.end else "still in ALARM" for _, period in periods],
                "Duration": [_period_duration(period, report.until) for _, period in periods],
                "Failed orders": [period.failed_count for _, period in periods],
            }
        ),
        width="stretch",
        hide_index=True,
        key="alarm_periods",
    )
    failed = [(label, period, order) for label, period in periods for order in period.failed]
    if not failed:
        return
    st.markdown("**Orders that failed while an alarm was in ALARM**")
    frame = pd.DataFrame(
        {
            "Alarm": [label for label, _, _ in failed],
            "In ALARM from": [_period_start(period.start) for _, period, _ in failed],
            "Order": [order.order_id for _, _, order in failed],
            "Outcome": [order.outcome.value for _, _, order in failed],
            "Stopped": times.column(order.stopped_at for _, _, order in failed),
            "Error": [order.error or "" for _, _, order in failed],
        }
    )
    config = order_link_column(frame) | {"Stopped": times.datetime_column("Stopped")}
    st.dataframe(frame, width="stretch", hide_index=True, column_config=config, key="alarm_failed_orders")
    st.caption(
        "Failed and timed-out executions that stopped from the start of the data that fired the alarm (it judges "
        "whole minutes once they are over, so it fires after the failures it counts) to the end of its ALARM "
        "period; declines and rejections end FAILED too, with their outcome. At most "
        f"{MAX_FAILED_SHOWN} newest per period."
    )


def _period_start(start: datetime | None) -> str:
    return times.fmt(start) if start else "before the last 24 h"


def _period_duration(period: AlarmPeriod, now: datetime) -> str:
    duration = period.duration(now)
    if duration is None:
        return "–"
    return format_duration(duration.total_seconds()) + ("" if period.end else " so far")


alarm_history()

st.subheader("Details")
queues_col, executions_col, metrics_col = st.columns(3)
queues_col.page_link("pages/queues.py", label="Queues and DLQ", icon=":material/inbox:")
executions_col.page_link("pages/executions.py", label="Executions", icon=":material/account_tree:")
metrics_col.page_link("pages/metrics.py", label="Metrics", icon=":material/monitoring:")
