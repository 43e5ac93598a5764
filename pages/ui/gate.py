"""The sign-in gate every page passes first, and the caller's role: who may see and do what."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import streamlit as st
from streamlit import config as st_config

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
from pages.ui.widgets import plain

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
