"""Small pieces the pages share: plain text, outcome and red/amber/green badges, the backend call that shows a banner
instead of a traceback, order links, number formats, an execution's error, input and output."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import streamlit as st

from backend.errors import BackendError
from backend.executions import cause_message
from backend.orders import OrderDetail

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
    "PURGED": "orange",  # an order id without an execution (backend/lookup.py)
    "LOST": "orange",
}
RAG_COLORS = {"green": "green", "amber": "orange", "red": "red"}
RAG_LABELS = {"green": "OK", "amber": "Watch", "red": "Act"}

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def plain(text: str) -> str:
    """Escape text for Streamlit markdown, so user or AWS text is shown as typed and never as markup."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


def badge(outcome: str) -> None:
    """Show an outcome as a coloured badge."""
    st.badge(outcome, color=OUTCOME_COLORS.get(outcome, "gray"))


def rag_badge(status: str | None) -> None:
    """A red/amber/green badge under a number (grey when there is nothing to judge)."""
    if status is None:
        st.badge("No data", color="gray")
    else:
        st.badge(RAG_LABELS[status], color=RAG_COLORS[status])


def guarded(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Call the backend; on failure show a banner that says what to do, and stop the page (never a traceback)."""
    try:
        return function(*args, **kwargs)
    except BackendError as exc:
        st.error(plain(str(exc)), icon=":material/error:")
        st.stop()
        raise  # st.stop() raises; this line keeps type checkers honest


def order_link_column(frame: Any, column: str = "Order") -> dict[str, Any]:
    """Turn an order id column into links to the order page (the id stays the visible text); return column_config."""
    frame[column] = [f"order?order={order_id}" if order_id else None for order_id in frame[column]]
    return {column: st.column_config.LinkColumn(column, display_text=r"order=(.*)$")}


def format_ms(value: float | None) -> str:
    """Milliseconds as a short duration."""
    if value is None:
        return "–"
    return f"{value:.0f} ms" if value < 1_000 else f"{value / 1000:.1f} s"


def format_duration(seconds: float | None) -> str:
    """Seconds as a short duration: 45 s, 3 min 20 s, 2 h 05 min."""
    if seconds is None:
        return "–"
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def format_rate(value: float | None) -> str:
    """A ratio as a percentage."""
    return "–" if value is None else f"{value:.1%}"


def error_banner(detail: OrderDetail) -> None:
    """The execution's error and the readable part of its cause, if it failed."""
    if detail.error:
        st.error(f"{plain(detail.error)}: {plain(cause_message(detail.cause))}", icon=":material/error:")


def execution_io(detail: OrderDetail) -> None:
    """The execution's input and output documents, and its ARN."""
    input_col, output_col = st.columns(2)
    with input_col:
        st.markdown("**Input**")
        st.json(detail.input or {}, expanded=False)
    with output_col:
        st.markdown("**Output**")
        st.json(detail.output or {}, expanded=False)
    st.caption(f"Execution: `{detail.execution_arn}`")
