"""Executions: filter by status, window and order id, newest first and paged; detail, history, stop and redrive."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import backend
from backend.identity import Role
from backend.monitoring import WINDOWS
from backend.operations import STATUSES
from pages.ui import charts, data, times
from pages.ui.frame import page_frame
from pages.ui.gate import allowed, caller, needs_role
from pages.ui.widgets import badge, error_banner, execution_io, format_ms, guarded, order_link_column, plain

PAGE_SIZE = 50
ALL = "All"

page_frame("Executions")
times.setting()

deep_link = st.query_params.get("order", "")
status_col, window_col, order_col = st.columns([2, 3, 3])
status = status_col.selectbox("Status", [ALL, *STATUSES], key="exec_status")
window = window_col.segmented_control("Started within", [*WINDOWS, ALL], default="24 h", key="exec_window") or ALL
order_id = order_col.text_input("Order id", value=deep_link, placeholder="ord_…", key="exec_order_id").strip()

# Paging: a stack of ListExecutions tokens, reset whenever a filter changes.
signature = (status, window, order_id)
if st.session_state.get("exec_signature") != signature:
    st.session_state.exec_signature = signature
    st.session_state.exec_tokens = [None]
tokens: list[str | None] = st.session_state.exec_tokens

page = guarded(
    data.executions_page,
    None if status == ALL else status,
    None if window == ALL else window,
    order_id or None,
    PAGE_SIZE,
    tokens[-1],
)

if not page.rows:
    if order_id:
        try:
            found = data.locate(order_id)
        except backend.BackendError as exc:  # a malformed id names the rule
            st.error(plain(str(exc)), icon=":material/error:")
        else:
            if isinstance(found, backend.lookup.NoExecution):
                st.info(plain(found.describe(times.zone())), icon=":material/search_off:")
            else:  # started between the two reads
                st.info(f"{plain(order_id)} has just started: refresh to see it.", icon=":material/refresh:")
    elif len(tokens) == 1:
        st.info(
            "No executions match: widen the window or status, or send test orders on Place order.",
            icon=":material/info:",
        )
        st.page_link("pages/place.py", label="Place order / send test orders", icon=":material/add_shopping_cart:")
else:
    frame = pd.DataFrame(
        {
            "Order": [row.order_id for row in page.rows],
            "Status": [row.status for row in page.rows],
            "Outcome": [row.outcome.value for row in page.rows],
            "Started": times.column(row.started_at for row in page.rows),
            "Stopped": times.column(row.stopped_at for row in page.rows),
            "Duration (ms)": [row.duration_ms for row in page.rows],
            "Error": [row.error or "" for row in page.rows],
        }
    )
    config = order_link_column(frame)
    config |= {
        "Started": times.datetime_column("Started", millis=True),
        "Stopped": times.datetime_column("Stopped", millis=True),
        "Duration (ms)": st.column_config.NumberColumn(format="%.0f"),
    }
    st.dataframe(frame, width="stretch", hide_index=True, column_config=config, key="exec_table")
prev_col, info_col, next_col = st.columns([1, 4, 1])
if prev_col.button("Newer", key="exec_newer", icon=":material/chevron_left:", disabled=len(tokens) == 1):
    tokens.pop()
    st.rerun()
info_col.caption(f"Page {len(tokens)} · {len(page.rows)} executions, newest first, {PAGE_SIZE} per page.")
if next_col.button("Older", key="exec_older", icon=":material/chevron_right:", disabled=not page.next_token):
    tokens.append(page.next_token)
    st.rerun()

st.subheader("Workflow: per-state figures")
st.caption(
    "Every state of the deployed workflow over the newest executions started "
    f"{'at any time' if window == ALL else 'within the last ' + window} (any status): how many entered it, "
    "failed in it and were retried in it, and the time spent in it."
)
# Off until asked for: each execution covered costs one GetExecutionHistory call.
if st.toggle("Show the per-state figures", key="workflow_figures_on"):
    charts.window_figures(None if window == ALL else window)

st.divider()
choices = [row.order_id for row in page.rows]
default = deep_link if deep_link in choices else None
selected = st.selectbox(
    "Execution detail",
    choices,
    index=choices.index(default) if default else None,
    placeholder="Pick an execution to see its timeline, history and actions",
    key="exec_detail",
)
if not selected:
    st.stop()


detail = guarded(data.order_detail, selected)
head, link = st.columns([3, 1])
with head:
    badge(detail.outcome.value)
link.page_link(
    "pages/order.py", label="Open order page", icon=":material/open_in_new:", query_params={"order": selected}
)
started, stopped, took = st.columns(3)
started.metric("Started", times.fmt(detail.started_at, date=False), border=True, help=times.fmt(detail.started_at))
stopped.metric(
    "Stopped",
    times.fmt(detail.stopped_at, date=False) if detail.stopped_at else "running",
    border=True,
    help=times.fmt(detail.stopped_at),
)
took.metric("Duration", format_ms(detail.duration_ms), border=True)
error_banner(detail)

charts.state_gantt(detail)
with st.expander("Workflow graph", icon=":material/account_tree:", expanded=True):
    charts.execution_graph(detail)

with st.expander("Event history", icon=":material/history:"):
    if detail.history_note:  # an old execution whose history the local AWS no longer keeps
        st.info(plain(detail.history_note), icon=":material/history_toggle_off:")
    events = detail.history
    st.dataframe(
        pd.DataFrame(
            {
                "Id": [e.id for e in events],
                "Time": times.column(e.timestamp for e in events),
                "Type": [e.type for e in events],
                "State": [e.state or "" for e in events],
                "Detail": [e.detail for e in events],
            }
        ),
        width="stretch",
        hide_index=True,
        key="exec_history",
        column_config={"Time": times.datetime_column("Time", millis=True)},
    )
execution_io(detail)

action = st.session_state.get("exec_action")
can_act = detail.outcome is backend.Outcome.RUNNING or bool(
    detail.error or detail.outcome in {backend.Outcome.ABORTED, backend.Outcome.TIMED_OUT}
)
if can_act and not allowed(Role.OPERATOR):
    needs_role(Role.OPERATOR, "Stopping or redriving an execution")
elif detail.outcome is backend.Outcome.RUNNING:
    if st.button("Stop execution", key="exec_stop", icon=":material/stop_circle:"):
        st.session_state.exec_action = ("stop", selected)
        st.rerun()
elif detail.error or detail.outcome in {backend.Outcome.ABORTED, backend.Outcome.TIMED_OUT}:
    if st.button("Redrive execution", key="exec_redrive", icon=":material/replay:"):
        st.session_state.exec_action = ("redrive", selected)
        st.rerun()
    st.caption(
        "Redrive continues from the step that did not succeed, with the same input and execution ARN. "
        "Payment is idempotent per order, so an order already charged is never charged twice."
    )
if action and action[1] == selected and allowed(Role.OPERATOR):
    kind = action[0]
    with st.container(border=True):
        st.warning(
            f"{'Stop' if kind == 'stop' else 'Redrive'} the execution of {plain(selected)}?", icon=":material/warning:"
        )
        confirm, cancel = st.columns(2)
        if confirm.button(f"Confirm {kind}", key="exec_action_confirm", type="primary"):
            st.session_state.exec_action = None
            if kind == "stop":
                guarded(backend.operations.stop_execution, selected, caller())
            else:
                guarded(backend.operations.redrive_execution, selected, caller())
            st.session_state.exec_done = f"{kind.title()} of {selected} requested."
            data.clear()
            st.rerun()
        if cancel.button("Cancel", key="exec_action_cancel"):
            st.session_state.exec_action = None
            st.rerun()
if st.session_state.get("exec_done"):
    st.success(st.session_state.exec_done, icon=":material/check:")
