"""Order: one order's status, its states as a graph and a timeline, its log lines, what the customer was told,
input/output, error and cause. Deep link: ?order=ID."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

import backend
from backend import notifications
from backend.order_logs import LogLine
from pages.ui import charts, data, times
from pages.ui.frame import page_frame
from pages.ui.widgets import badge, error_banner, execution_io, plain

page_frame("Order")
times.setting()

typed = st.text_input("Order id", value=st.query_params.get("order", ""), placeholder="ord_…").strip()
# Accept a pasted link or line of text that contains the id.
found = re.search(r"ord_[0-9a-z]{26}", typed)
order_id = found.group(0) if found else typed
if order_id and st.query_params.get("order") != order_id:
    st.query_params["order"] = order_id
st.page_link("pages/orders.py", label="Back to recent orders", icon=":material/arrow_back:")
if not order_id:
    st.info("Enter an order id, or open one from Recent orders.", icon=":material/info:")
    st.stop()
st.page_link(
    "pages/executions.py", label="Open in Executions", icon=":material/account_tree:", query_params={"order": order_id}
)


def render(detail: backend.OrderDetail) -> None:
    badge(detail.outcome.value)
    started, took, states = st.columns(3)
    started.metric("Started", times.fmt(detail.started_at, date=False), border=True, help=times.fmt(detail.started_at))
    took.metric(
        "Duration", f"{detail.duration_ms:.0f} ms" if detail.duration_ms is not None else "running", border=True
    )
    states.metric("States", len(detail.timeline), border=True)
    error_banner(detail)
    if detail.history_note:
        st.info(plain(detail.history_note), icon=":material/history_toggle_off:")

    rows = [
        {
            "State": run.name,
            "Type": run.state_type,
            "Status": run.status,
            "Entered": run.entered_at,
            "Duration (ms)": run.duration_ms,
            "Attempts": run.attempts or None,
            "Error": run.error or ", ".join(run.failed_attempts),
            "Cause": backend.executions.cause_message(run.cause),
        }
        for run in detail.timeline
    ]
    if rows:
        charts.state_gantt(detail)
        frame = pd.DataFrame(rows)
        frame["Entered"] = times.column(frame["Entered"])
        st.dataframe(
            frame,
            width="stretch",
            hide_index=True,
            column_config={"Entered": times.datetime_column("Entered", millis=True)},
        )
    sections(detail)
    execution_io(detail)


def no_execution(found: backend.lookup.NoExecution) -> None:
    """What is known of an order id without an execution: queued, purged, lost in a reset, expired or unknown."""
    badge(found.kind.upper())
    icon = {
        backend.lookup.Queued: ":material/hourglass_empty:",
        backend.lookup.DeadLettered: ":material/report:",
    }.get(type(found), ":material/search_off:")
    st.info(plain(found.describe(times.zone())), icon=icon)


def sections(detail: backend.OrderDetail) -> None:
    """The workflow graph with each state's status, what the customer was told, and the functions' log lines."""
    st.subheader("Workflow")
    charts.execution_graph(detail)
    try:
        lines = data.order_logs(detail.order_id, detail.stopped_at)
    except backend.BackendError as exc:
        st.error(plain(str(exc)), icon=":material/error:")
        return
    st.subheader("What the customer was told")
    sent = notifications.from_lines(lines)
    if not sent:
        st.caption("No notification sent yet.")
    for notification in sent:
        with st.container(border=True):
            st.markdown(f"**{plain(notification.kind)}** · {plain(times.fmt(notification.sent_at))}")
            st.text(notification.text)
    st.subheader("Logs")
    if not lines:
        st.caption("No log lines for this order yet (the functions' logs reach CloudWatch Logs within seconds).")
    else:
        log_table(lines)
    trace_section(detail, lines)  # last: it reads each invocation's report, the rest of the page need not wait


def log_table(lines: list[LogLine]) -> None:
    """The functions' log lines of the order, oldest first."""
    st.dataframe(
        pd.DataFrame(
            {
                "Time": times.column(line.at for line in lines),
                "Level": [line.level for line in lines],
                "Function": [line.function for line in lines],
                "Message": [line.message for line in lines],
                "Details": [json.dumps(line.details, default=str) if line.details else "" for line in lines],
            }
        ),
        width="stretch",
        hide_index=True,
        key="order_logs",
        column_config={"Time": times.datetime_column("Time", millis=True)},
    )
    st.caption(
        f"{len(lines)} structured log lines of the pipeline's functions that carry this order's id (Powertools "
        "correlation_id), oldest first. Source: CloudWatch Logs FilterLogEvents on each function's log group."
    )


def trace_section(detail: backend.OrderDetail, lines: list[LogLine]) -> None:
    """The order's trace: from its placing through its message, batch, execution and invocations to its
    notification, on one timeline, with each step's ids and figures."""
    st.subheader("Trace")
    try:
        trace = data.order_trace(detail.order_id, data.trace_version(detail, lines), detail, lines)
    except backend.BackendError as exc:
        st.error(plain(str(exc)), icon=":material/error:")
        return
    charts.trace_gantt(trace)
    ids = st.columns(4)
    ids[0].metric("SQS message", trace.message_id or "not seen yet", border=True)
    ids[1].metric("Starter batch", f"{trace.batch_size} messages" if trace.batch_size else "-", border=True)
    record = trace.idempotency
    ids[2].metric(
        "Payment record",
        record.status if record else "none",
        border=True,
        help=f"Expires {times.fmt(record.expires_at)}" if record and record.expires_at else None,
    )
    ids[3].metric(
        "Cost",
        f"${trace.cost.total:.7f}" if trace.cost is not None else "when it ends",
        border=True,
        help="Measured, at us-east-1 list prices: its Lambda invocations (billed duration x memory, and requests), "
        "its share of the starter's batch and of that batch's SQS requests, and its state transitions.",
    )
    frame = pd.DataFrame(
        {
            "Step": [step.name for step in trace.steps],
            "Kind": [step.kind for step in trace.steps],
            "Attempt": [step.attempt for step in trace.steps],
            "Started": times.column(step.started_at for step in trace.steps),
            "Request id": [step.request_id or "" for step in trace.steps],
            "Start": ["" if step.cold_start is None else "cold" if step.cold_start else "warm" for step in trace.steps],
            "Duration (ms)": [step.detail.get("duration_ms") for step in trace.steps],
            "Detail": [
                json.dumps({k: v for k, v in step.detail.items() if v is not None and k != "duration_ms"}, default=str)
                for step in trace.steps
            ],
        }
    )
    st.dataframe(
        frame,
        width="stretch",
        hide_index=True,
        key="order_trace",
        column_config={"Started": times.datetime_column("Started", millis=True)},
    )
    st.caption(
        "Sources: the execution's history (read once for this page), the functions' log lines and their Lambda "
        "platform.report records (FilterLogEvents), and the payment's idempotency record (GetItem). "
        f"Notification SNS message id: {plain(trace.notification_message_id or 'none yet')}."
    )


# A finished order's last log lines reach CloudWatch Logs seconds after it ends: the page keeps reading until then.
LOGS_SETTLE = timedelta(seconds=20)


def live() -> None:
    try:
        found = data.watch(order_id)
    except backend.BackendError as exc:
        st.error(plain(str(exc)), icon=":material/error:")
        return
    if isinstance(found, backend.lookup.NoExecution):
        no_execution(found)
        # Only a queued or dead-lettered one changes (a redrive sends a dead-lettered one back).
        final = not isinstance(found, backend.lookup.Queued | backend.lookup.DeadLettered)
    else:
        render(found)
        settled = found.stopped_at is not None and datetime.now(UTC) - found.stopped_at > LOGS_SETTLE
        final = found.outcome.terminal and settled
    if final and not st.session_state.get(f"final:{order_id}"):
        st.session_state[f"final:{order_id}"] = True
        st.rerun()


st.fragment(run_every=None if st.session_state.get(f"final:{order_id}") else "2s")(live)()
