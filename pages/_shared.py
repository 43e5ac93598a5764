"""UI pieces shared by the pages: sign-in, the sidebar, error banners, cached reads and outcome badges."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, ParamSpec, TypeVar

import pandas as pd
import plotly.express as px
import streamlit as st
from streamlit import config as st_config

import backend
from backend import sandbox
from backend.errors import BackendError
from backend.identity import (
    Admission,
    Caller,
    Role,
    admission,
    auth_problem,
    no_role_message,
    open_serving_problem,
    providers,
    unauthenticated_caller,
)
from backend.settings import settings
from pages import _time


def _leave_legacy_pages_mode() -> None:
    """Use st.navigation from the first request on, even when that request opens a page directly."""
    from streamlit.runtime.pages_manager import PagesManager

    # Streamlit serves the first session of a fresh server as a v1 multipage app, because a pages/ folder lies
    # beside the entry point, until the entry point has called st.navigation once: that session's first run finds
    # its page among pages/*.py by file name and runs it without streamlit_app.py. The page's first import lands
    # here; the rerun keeps its URL, query and page hash (calc_hash of the URL path), and st.navigation resolves
    # the same page, because every page's URL is its file's name. A page with another url_path would get
    # "Page not found" in the v1 run instead.
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


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


# ---------------------------------------------------------------- sign-in and roles
OPEN_BANNER = (
    "**Sign-in is off** (`ORDERS_AUTH=off`): this dashboard is open to anyone who can reach its URL, and anyone can "
    "place orders, purge queues, redrive and stop executions on AWS. Configure `[auth]` in "
    "`.streamlit/secrets.toml` and unset `ORDERS_AUTH`."
)


def _auth_section() -> Mapping[str, Any] | None:
    """The [auth] section of Streamlit's secrets, or None when there is no secrets file or no such section."""
    try:
        if not st.secrets.load_if_toml_exists():
            return None
        section = st.secrets.get("auth")
    except Exception:  # an unreadable secrets file is reported like a missing one: sign-in cannot work
        return None
    return section if isinstance(section, Mapping) else None


def _server_address() -> str | None:
    """The address the server listens on (server.address; None or empty: every interface)."""
    # streamlit.config rather than st.get_option: the latter is bound at import, so AppTest's option patch misses it.
    value = st_config.get_option("server.address")
    return str(value) if value is not None else None


def _max_age() -> timedelta:
    return timedelta(hours=settings().auth_max_age_hours)


def _hours(value: float) -> str:
    return f"{value:g} h"


def caller() -> Caller:
    """Who is using the app: the signed-in person and their role, or everyone as an operator when sign-in is off."""
    config = settings()
    if not config.sign_in_required:
        return unauthenticated_caller(config)
    if st.user.get("is_logged_in", False):
        verdict, who = admission(st.user.to_dict(), _max_age())
        if verdict is Admission.ADMITTED:
            return who
    st.stop()  # sign_in_gate() shows the sign-in page, or the refusal, before any page runs
    raise AssertionError  # st.stop() raises


def _refuse_without_role(who: Caller) -> None:
    """The page of a person the provider signed in who earns no role: why, and the way out; no data."""
    st.title("Order pipeline")
    st.error(plain(no_role_message(who)), icon=":material/block:")
    if st.button("Sign out", key="logout_no_role", icon=":material/logout:"):
        st.logout()


def sign_in_gate() -> bool:
    """Before any page: refuse to run without a safe sign-in configuration where one is needed, refuse people
    without a role, end sign-ins that are too old, or ask to sign in; True when a page may run."""
    try:
        config = settings()
    except ValueError as exc:
        st.error(f"The app's settings are invalid: {plain(str(exc))}", icon=":material/error:")
        return False
    if not config.sign_in_required:
        refusal = open_serving_problem(config, _server_address())
        if refusal:
            st.error(f"**Not served with sign-in off**: {refusal}", icon=":material/lock_open:")
            return False
        if not config.sandbox:
            st.error(OPEN_BANNER, icon=":material/lock_open:")
        return True
    section = _auth_section()
    problem = auth_problem(section)
    if problem or section is None:
        st.error(
            f"**Sign-in is required {plain(config.sign_in_reason())}, and it is not configured**: {problem}. The "
            "dashboard does not start without it. Add an `[auth]` section to `.streamlit/secrets.toml` (see "
            '`.streamlit/secrets.example.toml` and the README, "Sign-in and roles"), or set `ORDERS_AUTH=off` to run '
            "it open to anyone.",
            icon=":material/lock:",
        )
        return False
    max_hours = config.auth_max_age_hours
    ended = False
    if st.user.get("is_logged_in", False):
        verdict, who = admission(st.user.to_dict(), _max_age())
        if verdict is Admission.ADMITTED:
            return True
        if verdict is Admission.NO_ROLE:
            _refuse_without_role(who)
            return False
        # Too old, or of unknown age: end it, so that the next sign-in brings a fresh token and fresh groups.
        st.logout()
        ended = True
    st.title("Order pipeline")
    if ended:
        st.warning(
            f"Your sign-in is more than {_hours(max_hours)} old (or its time is unknown), so it was ended: sign in "
            "again, and your role is read afresh.",
            icon=":material/schedule:",
        )
    st.info("Sign in to see the order pipeline.", icon=":material/lock:")
    for provider in providers(section):
        label = "Sign in" if provider == "default" else f"Sign in with {provider.title()}"
        if st.button(label, key=f"login_{provider}", type="primary", icon=":material/login:"):
            st.login(provider)
    st.caption(
        f"A sign-in lasts {_hours(max_hours)}; after that you are asked to sign in again, which reads your role "
        "afresh from your identity provider."
    )
    return False


def allowed(needed: Role) -> bool:
    """Whether the caller's role allows what needs the given role (the backend checks again)."""
    return caller().may(needed)


def needs_role(needed: Role, what: str) -> None:
    """Say what the caller may not do here and which role it needs."""
    st.info(
        f"{what} needs the **{needed.value}** role; you are signed in as **{caller().role_name}**.",
        icon=":material/lock:",
    )


def render_identity() -> None:
    """Who is signed in, with which role, and the sign-out button; or that sign-in is off."""
    who = caller()
    if who.signed_in:
        st.markdown(f":material/person: **{plain(who.label)}** · role **{who.role_name}**")
        if st.button("Sign out", key="logout", icon=":material/logout:"):
            st.logout()
    elif settings().sandbox:
        st.caption(
            f":material/person: Sign-in is off (all data here is fake): you act as **{plain(who.label)}**, an "
            "**operator**, and everything is allowed. `ORDERS_AUTH=on` turns sign-in on."
        )
    else:
        st.caption(":red[:material/lock_open: Sign-in is off: anyone with the URL acts as an operator.]")


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
    """Who is signed in; which AWS the app talks to, its region and whether it answers."""
    with st.sidebar:
        render_identity()
        try:
            home = _home()
        except BackendError as exc:
            st.error(plain(str(exc)))
            return
        if home["home"] == "local" and settings().sandbox:
            st.info(
                f"**Local sandbox**: stack `{home['stack']}` on a local AWS on this machine "
                f"(`{home['endpoint']}`). Orders, queues and executions survive its restarts.",
                icon=":material/science:",
            )
            render_sandbox()
        elif home["endpoint"]:
            st.info(
                f"**Endpoint** `{home['endpoint'].replace('`', '')}`: stack `{home['stack']}`. It is not this "
                "machine's local sandbox, so the rules for AWS apply.",
                icon=":material/cloud:",
            )
        else:
            st.success(f"**AWS**: stack `{home['stack']}`.", icon=":material/cloud:")
        st.caption(f"Region: {home['region']}")
        try:
            depth = _health()
            st.caption(f":green[●] healthy: {depth['visible']} queued, {depth['in_flight']} being started")
        except BackendError as exc:
            st.caption(f":red[●] not answering: {plain(str(exc))}")


@st.cache_data(ttl=5, show_spinner=False)
def _sandbox() -> sandbox.Status | None:
    return sandbox.status()


def _seen(boot_id: str) -> None:
    st.session_state.sandbox_boot_id = boot_id


def render_sandbox() -> None:
    """Say when the local AWS restarted since this session last looked, and offer a confirmed reset."""
    try:
        current = _sandbox()
    except BackendError as exc:
        st.caption(f":red[●] {plain(str(exc))}")
        return
    if current is None:
        return
    seen = st.session_state.setdefault("sandbox_boot_id", current.boot_id)
    if seen != current.boot_id:
        brought_back = ", ".join(f"{count} {what}" for what, count in current.restored.items() if count)
        st.warning(
            f"The local AWS restarted at {_time.fmt(current.started_at)}; "
            + (f"it brought back {brought_back}." if brought_back else "it started empty."),
            icon=":material/restart_alt:",
        )
        st.button("Got it", key="sandbox_restart_seen", on_click=_seen, args=(current.boot_id,))
    if current.last_reset:
        st.caption(f"Last reset: {_time.fmt(current.last_reset)}")
    if not allowed(Role.OPERATOR):
        return
    with st.popover("Reset the sandbox", icon=":material/delete_forever:"):
        st.markdown("Deletes every order, message, execution and payment record of the sandbox, then starts it empty.")
        typed = st.text_input("Type **reset** to confirm", key="sandbox_reset_confirm")
        if st.button("Reset", type="primary", disabled=typed != "reset", key="sandbox_reset"):
            with st.spinner("Resetting the local AWS..."):
                fresh = guarded(sandbox.reset, caller())
            st.session_state.sandbox_boot_id = fresh.boot_id
            st.cache_data.clear()
            st.rerun()


RAG_COLORS = {"green": "green", "amber": "orange", "red": "red"}
RAG_LABELS = {"green": "OK", "amber": "Watch", "red": "Act"}


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
    return f"{value:.0f} ms" if value < 1_000 else f"{value / 1000:.1f} s"


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
            "Entered": _time.wall(run.entered_at for run in detail.timeline),
            "Exited": _time.wall(run.exited_at or run.entered_at for run in detail.timeline),
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
    # States top to bottom in the order they ran (plotly would group them by the colour's trace).
    order = list(dict.fromkeys(frame["State"]))
    chart.update_yaxes(autorange="reversed", title=None, categoryorder="array", categoryarray=order)
    chart.update_xaxes(title=_time.header("Time"))
    chart.update_layout(height=120 + 40 * frame["State"].nunique(), margin={"l": 0, "r": 0, "t": 10, "b": 0})
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


# Last: its rerun aborts this import, and a session that waited for the import meanwhile gets this very module
# object, not a new one (CPython), so it must be whole by then (a call at the top gave them "cannot import name").
_leave_legacy_pages_mode()
