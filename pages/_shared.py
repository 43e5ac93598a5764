"""UI pieces shared by the pages: the sidebar, error banners, cached reads and outcome badges."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ParamSpec, TypeVar

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
    return {"home": connection.home.value, "region": connection.region, "endpoint": connection.endpoint_url or ""}


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
                "**Local sandbox**: an embedded local AWS on this machine "
                f"(`{home['endpoint']}`). Everything resets when it restarts.",
                icon=":material/science:",
            )
        else:
            st.success("**AWS**: the deployed pipeline.", icon=":material/cloud:")
        st.caption(f"Region: {home['region']}")
        try:
            depth = _health()
            st.caption(f":green[●] healthy: {depth['visible']} queued, {depth['in_flight']} being started")
        except BackendError as exc:
            st.caption(f":red[●] not answering: {plain(str(exc))}")
