"""Order: one order's status, its states as a timeline, input/output, error and cause. Deep link: ?order=ID."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

import backend
from pages._shared import badge, error_banner, execution_io, plain, state_gantt

st.title("Order")

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
    started.metric("Started", f"{detail.started_at:%H:%M:%S}" if detail.started_at else "–", border=True)
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
        state_gantt(detail)
        frame = pd.DataFrame(rows)
        st.dataframe(frame, width="stretch", hide_index=True)
    execution_io(detail)


def live() -> None:
    try:
        detail = backend.get_order(order_id)
    except backend.NotFound as exc:
        badge("QUEUED")
        st.info(plain(str(exc)), icon=":material/hourglass_empty:")
        return
    except backend.BackendError as exc:
        st.error(plain(str(exc)), icon=":material/error:")
        return
    render(detail)
    if detail.outcome.terminal and not st.session_state.get(f"final:{order_id}"):
        st.session_state[f"final:{order_id}"] = True
        st.rerun()


st.fragment(run_every=None if st.session_state.get(f"final:{order_id}") else "2s")(live)()
