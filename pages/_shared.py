"""UI pieces shared by the pages: the sidebar, error banners, cached reads and outcome badges."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import pandas as pd
import plotly.express as px
import streamlit as st

import backend
from backend.errors import BackendError


def _leave_legacy_pages_mode() -> None:
    """Use st.navigation from the first request on, even when that request opens a page directly."""
    from streamlit.runtime.pages_manager import PagesManager

    # Streamlit runs an app with a pages/ folder beside its entry point as a v1 multipage app until the entry
    # point has called st.navigation once; a first visit straight to /orders would skip streamlit_app.py.
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_legacy_pages_mode()

P = ParamSpec("P")
R = TypeVar("R")

OUTCOME_COLORS = {
    "QUEUED": "gray",
    "RUNNING": "blue",
    "SUCCEEDED": "green",
    "REJECTED": "orange",
    "DECLINED": "orange",
    "FAILED": "red",
    "TIMED_OUT": "red",
    "ABORTED": "gray",
}


_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def plain(text: str) -> str:
    """Escape text for Streamlit markdown, so user or AWS text is shown as typed and never as markup."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


def badge(outcome: str) -> None:
    """Show an outcome as a coloured badge."""
    st.badge(outcome, color=OUTCOME_COLORS.get(outcome, "gray"))


def guarded(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Call the backend; on failure show a banner that says what to do, and stop the page (never a traceback)."""
    try:
        return function(*args, **kwargs)
    except BackendError as exc:
        st.error(plain(str(exc)), icon=":material/error:")
        st.stop()
        raise  # st.stop() raises; this line keeps type checkers honest


@st.cache_data(ttl=30, show_spinner=False)
def _home() -> dict[str, str]:
    connection = backend.connection()
    return {
        "home": connection.home.value,
        "region": connection.region,
        "endpoint": connection.endpoint_url or "",
        "stack": connection.stack_name,
    }


@st.cache_data(ttl=5, show_spinner=False)
def _health() -> dict[str, int]:
    return backend.queue_depth()


def render_sidebar() -> None:
    """Which AWS the app talks to, its region and whether it answers."""
    with st.sidebar:
        try:
            home = _home()
        except BackendError as exc:
            st.error(plain(str(exc)))
            return
        if home["home"] == "local":
            st.info(
                f"**Local sandbox**: stack `{home['stack']}` on a local AWS on this machine "
                f"(`{home['endpoint']}`). Everything resets when it restarts.",
                icon=":material/science:",
            )
        else:
            st.success(f"**AWS**: stack `{home['stack']}`.", icon=":material/cloud:")
        st.caption(f"Region: {home['region']}")
        try:
            depth = _health()
            st.caption(f":green[●] healthy: {depth['visible']} queued, {depth['in_flight']} being started")
        except BackendError as exc:
            st.caption(f":red[●] not answering: {plain(str(exc))}")


RAG_COLORS = {"green": "green", "amber": "orange", "red": "red"}
RAG_LABELS = {"green": "OK", "amber": "Watch", "red": "Act"}


def actor() -> str:
    """Who is acting, for the audit log: the signed-in user's email, else the OS user, else "operator"."""
    try:
        if st.user.get("is_logged_in", False):
            return str(st.user.get("email") or st.user.get("name") or "signed-in user")
    except Exception:  # noqa: S110 - st.user without [auth] configured: fall back below
        pass
    try:
        import getpass

        return getpass.getuser()
    except Exception:
        return "operator"


def rag_badge(status: str | None) -> None:
    """A red/amber/green badge under a number (grey when there is nothing to judge)."""
    if status is None:
        st.badge("No data", color="gray")
    else:
        st.badge(RAG_LABELS[status], color=RAG_COLORS[status])


def order_link_column(frame: Any, column: str = "Order") -> dict[str, Any]:
    """Turn an order id column into links to the order page (the id stays the visible text); return column_config."""
    frame[column] = [f"order?order={order_id}" if order_id else None for order_id in frame[column]]
    return {column: st.column_config.LinkColumn(column, display_text=r"order=(.*)$")}


def format_ms(value: float | None) -> str:
    """Milliseconds as a short duration."""
    if value is None:
        return "–"
    return f"{value:.0f} ms" if value < 10_000 else f"{value / 1000:.1f} s"


def format_rate(value: float | None) -> str:
    """A ratio as a percentage."""
    return "–" if value is None else f"{value:.1%}"


def error_banner(detail: backend.OrderDetail) -> None:
    """The execution's error and the readable part of its cause, if it failed."""
    if detail.error:
        message = backend.executions.cause_message(detail.cause)
        st.error(f"{plain(detail.error)}: {plain(message)}", icon=":material/error:")


def state_gantt(detail: backend.OrderDetail) -> None:
    """The per-state timeline of an execution as a Gantt chart."""
    if not detail.timeline:
        return
    frame = pd.DataFrame(
        {
            "State": [run.name for run in detail.timeline],
            "Status": [run.status for run in detail.timeline],
            "Entered": [run.entered_at for run in detail.timeline],
            "Exited": [run.exited_at or run.entered_at for run in detail.timeline],
        }
    )
    chart = px.timeline(
        frame,
        x_start="Entered",
        x_end="Exited",
        y="State",
        color="Status",
        color_discrete_map={"SUCCEEDED": "#2e7d32", "FAILED": "#c62828", "RUNNING": "#1565c0"},
    )
    chart.update_yaxes(autorange="reversed")
    chart.update_layout(height=80 + 40 * frame["State"].nunique(), margin={"l": 0, "r": 0, "t": 10, "b": 0})
    st.plotly_chart(chart, width="stretch")


def execution_io(detail: backend.OrderDetail) -> None:
    """The execution's input and output documents, and its ARN."""
    input_col, output_col = st.columns(2)
    with input_col:
        st.markdown("**Input**")
        st.json(detail.input or {}, expanded=False)
    with output_col:
        st.markdown("**Output**")
        st.json(detail.output or {}, expanded=False)
    st.caption(f"Execution: `{detail.execution_arn}`")
