"""Queues: depth and age of the orders queue and its DLQ, activity over time, DLQ peek, redrive (a move task), purge."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

import backend
from backend.identity import Role
from backend.monitoring import WINDOWS, bucket_seconds
from backend.queues import MAX_PEEK, QueueStats
from backend.redrive import MAX_RATE, MoveTask
from pages.ui import data, times
from pages.ui.frame import page_frame
from pages.ui.gate import allowed, caller, needs_role
from pages.ui.widgets import guarded, order_link_column

page_frame("Queues")
times.setting()
HAS_DLQ = guarded(data.has_dlq)
ACTIVITY = ("sent", "received", "deleted")


def age_text(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def queue_tiles(stats: QueueStats, title: str) -> None:
    st.markdown(f"**{title}** · `{stats.name.replace('`', '')}`")  # a code span shows text literally
    visible, in_flight, delayed, oldest = st.columns(4)
    visible.metric("Visible", stats.visible, border=True, help="Waiting to be received.")
    in_flight.metric("In flight", stats.in_flight, border=True, help="Received, not yet deleted.")
    delayed.metric("Delayed", stats.delayed, border=True, help="Sent with a delay, not yet visible.")
    oldest.metric(
        "Oldest",
        age_text(stats.oldest_age_seconds),
        border=True,
        help="Age of the oldest message: AWS/SQS ApproximateAgeOfOldestMessage (CloudWatch, every minute on AWS).",
    )


@st.fragment(run_every="5s")
def depth() -> None:
    orders = guarded(data.queue_stats, "orders")
    left, right = st.columns(2)
    with left:
        queue_tiles(orders, "Orders queue")
    with right:
        if HAS_DLQ:
            queue_tiles(guarded(data.queue_stats, "dlq"), "Dead-letter queue")
        else:
            st.info("No dead-letter queue configured: set ORDERS_DLQ_URL, or deploy the stack from infra/.")


depth()


def task_frame(tasks: list[MoveTask]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Started": times.column(t.started_at for t in tasks),
            "Status": [t.status for t in tasks],
            "Moved": [t.moved for t in tasks],
            "Of": [t.to_move for t in tasks],
            "Rate (msg/s)": [str(t.rate) if t.rate else "SQS's pace" for t in tasks],
            "To": [t.destination for t in tasks],
            "Failure": [t.failure or "" for t in tasks],
        }
    )


@st.fragment(run_every="2s")
def redrive_tasks() -> None:
    """The DLQ's recent redrives with their progress; a running one can be cancelled."""
    tasks = guarded(data.move_tasks)
    running = next((t for t in tasks if t.running), None)
    if running is not None:
        done = running.moved / running.to_move if running.to_move else 0.0
        text = f"Redrive {running.status.lower()}: {running.moved} of {running.to_move} moved"
        st.progress(min(done, 1.0), text=text)
        if running.handle and st.button("Cancel redrive", key="redrive_cancel_task", icon=":material/cancel:"):
            moved = guarded(backend.redrive.cancel_redrive, running.handle, caller())
            st.toast(f"Redrive cancelled after {moved} message{'' if moved == 1 else 's'}.", icon=":material/check:")
            data.clear()
    if tasks:
        config = {"Started": times.datetime_column("Started")}
        st.dataframe(task_frame(tasks), width="stretch", hide_index=True, column_config=config, key="redrive_table")
    else:
        st.caption("No redrive yet.")


def redrive_section(visible: int) -> None:
    st.markdown("**Redrive** back to the orders queue")
    st.caption(
        "An SQS message move task: SQS moves every message the DLQ holds, oldest first, at the rate you choose, and "
        "keeps going without this page. Orders already run are not run twice (executions are named by order id)."
    )
    rate_col, button_col = st.columns([1, 3], vertical_alignment="bottom")
    rate = rate_col.number_input("Messages per second", 1, MAX_RATE, 10, key="redrive_rate")
    running = any(t.running for t in guarded(data.move_tasks))
    if button_col.button(
        f"Redrive {visible} messages",
        key="redrive_start",
        icon=":material/replay:",
        disabled=visible == 0 or running,
        help="One redrive at a time: SQS runs one move task per queue." if running else None,
    ):
        guarded(backend.redrive.start_redrive, caller(), int(rate))
        data.clear()
        st.rerun()
    redrive_tasks()


st.subheader("Activity")
window = st.segmented_control("Window", list(WINDOWS), default="1 h", key="queues_window") or "1 h"
frames = []
for role in ("orders", "dlq") if HAS_DLQ else ("orders",):
    activity = guarded(data.sqs_activity, role, window)
    for kind in ACTIVITY:
        frames.append(
            pd.DataFrame(
                {
                    "Time": times.wall(activity.timestamps),
                    "Messages": getattr(activity, kind),
                    "Metric": kind,
                    "Queue": activity.queue_name,
                }
            )
        )
activity_frame = pd.concat(frames) if frames else pd.DataFrame()
if activity_frame.empty or activity_frame["Messages"].sum() == 0:
    st.info("No queue activity in this window: send test orders on Place order to see traffic.", icon=":material/info:")
else:
    # Counts per period: bars, which also read right when the window holds a single period. The axis spans the
    # window, and each metric's bar is a quarter of a period wide (a lone bar on a time axis is otherwise 1 ms).
    chart = px.bar(activity_frame, x="Time", y="Messages", color="Metric", facet_row="Queue")
    chart.for_each_annotation(lambda annotation: annotation.update(text=annotation.text.split("=")[-1]))
    period_ms = bucket_seconds(WINDOWS[window]) * 1000
    chart.for_each_trace(
        lambda bar: bar.update(width=period_ms / 4, offset=period_ms * (ACTIVITY.index(bar.name) / 4 - 3 / 8))
    )
    chart.update_xaxes(**times.axis(activity.since, activity.until))
    chart.update_layout(height=420, margin={"l": 0, "r": 0, "t": 30, "b": 0})
    st.plotly_chart(chart, width="stretch")
st.caption("Source: CloudWatch AWS/SQS NumberOfMessagesSent/Received/Deleted (Sum per period).")

if HAS_DLQ and not allowed(Role.OPERATOR):
    st.subheader("Dead-letter queue")
    needs_role(Role.OPERATOR, "Looking at, redriving and purging queue messages")
elif HAS_DLQ:
    st.subheader("Dead-letter queue")
    dlq = guarded(data.queue_stats, "dlq")
    peek_col, _ = st.columns([1, 3])
    peek_count = peek_col.number_input("Messages to look at", 1, MAX_PEEK, 10, key="dlq_peek_count")
    if st.button("Peek at messages", key="dlq_peek", icon=":material/visibility:"):
        st.session_state.dlq_peeked = guarded(backend.queues.peek_dlq, caller(), int(peek_count))
    peeked = st.session_state.get("dlq_peeked")
    if peeked is not None:
        st.caption("Peeking receives the messages and makes them visible again at once: nothing is deleted or lost.")
        if not peeked:
            st.info("The dead-letter queue is empty.", icon=":material/check_circle:")
        else:
            frame = pd.DataFrame(
                {
                    "Order": [m.order_id for m in peeked],
                    "Message id": [m.message_id for m in peeked],
                    "Sent": times.column(m.sent_at for m in peeked),
                    "Receives": [m.receive_count for m in peeked],
                    "Body": [m.body[:500] for m in peeked],
                }
            )
            config = order_link_column(frame) | {"Sent": times.datetime_column("Sent")}
            st.dataframe(frame, width="stretch", hide_index=True, column_config=config, key="dlq_table")

    redrive_section(dlq.visible)

    with st.expander("Purge a queue", icon=":material/delete_forever:"):
        st.caption("Deletes every message of the queue for good. Type the queue's name to confirm.")
        role = st.radio(
            "Queue",
            ["dlq", "orders"],
            format_func=lambda r: {"dlq": "Dead-letter queue", "orders": "Orders queue"}[r],
            horizontal=True,
            key="purge_role",
        )
        name = (dlq if role == "dlq" else guarded(data.queue_stats, "orders")).name
        typed = st.text_input(f"Type {name} to confirm", key="purge_confirm_text")
        if st.button("Purge", key="purge_button", type="primary", disabled=typed.strip() != name):
            purged = guarded(backend.queues.purge, role, caller(), typed)
            st.session_state.purge_result = f"Purged {name} ({purged} messages)."
            data.clear()
            st.rerun()
        if st.session_state.get("purge_result"):
            st.success(st.session_state.purge_result)

st.subheader("Audit log")
placed_orders = st.toggle("Include placed orders", key="audit_placed_orders")
actions = guarded(data.audit_actions, placed_orders)
if not actions:
    st.caption(
        "Nothing recorded yet: every guarded action (purges, redrives, stops, peeks, resets, placed orders) and every "
        "refused attempt is recorded in CloudWatch Logs /order-pipeline/audit."
    )
else:
    # st.dataframe shows every value as text: nothing a person typed is rendered as markup.
    st.dataframe(
        pd.DataFrame(
            {
                "When": times.column(a.requested_at for a in actions),
                "Action": [a.action for a in actions],
                "Target": [a.target for a in actions],
                "Outcome": [a.outcome for a in actions],
                "Who": [f"{a.actor} · {a.email}" if a.email and a.email != a.actor else a.actor for a in actions],
                "Role": [a.role or "" for a in actions],
                "Needed": [a.needed or "" for a in actions],
                "How many": [a.count for a in actions],
                "Detail": [a.detail for a in actions],
                "Finished": times.column(a.finished_at for a in actions),
                "Subject": [a.subject or "" for a in actions],
                "Issuer": [a.issuer or "" for a in actions],
                "Id": [a.id for a in actions],
            }
        ),
        width="stretch",
        hide_index=True,
        column_config={"When": times.datetime_column("When"), "Finished": times.datetime_column("Finished")},
        key="audit_table",
    )
    st.caption(
        "Each action's intent is written before it (no record, no action) and its outcome after it; "
        '"no outcome recorded" means it may or may not have happened. Source: CloudWatch Logs /order-pipeline/audit '
        "(last 7 days, newest first)."
    )
