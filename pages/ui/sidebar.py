"""The sidebar: the menu, who is signed in, which AWS the app talks to and whether it answers, and the local
sandbox's restarts and its confirmed reset."""

from __future__ import annotations

import streamlit as st

from backend import sandbox
from backend.errors import BackendError
from backend.identity import Role
from backend.settings import settings
from pages.ui import data, menu, times
from pages.ui.gate import allowed, caller
from pages.ui.widgets import guarded, plain


def render_menu() -> None:
    """The menu and who is signed in: nothing here reads AWS, so it shows at once."""
    with st.sidebar:
        menu.render()
        st.divider()
        render_identity()


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


def render_home() -> None:
    """Which AWS the app talks to, its region and whether it answers; on the local sandbox, its restarts."""
    with st.sidebar:
        _home()


# A fragment: confirming a restart or typing "reset" reruns this panel, not the page beside it.
@st.fragment
def _home() -> None:
    try:
        home = data.home()
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
        depth = data.health()
        st.caption(f":green[●] healthy: {depth['visible']} queued, {depth['in_flight']} being started")
    except BackendError as exc:
        st.caption(f":red[●] not answering: {plain(str(exc))}")


def _seen(boot_id: str) -> None:
    st.session_state.sandbox_boot_id = boot_id


def render_sandbox() -> None:
    """Say when the local AWS restarted since this session last looked, and offer a confirmed reset."""
    try:
        current = data.sandbox_status()
    except BackendError as exc:
        st.caption(f":red[●] {plain(str(exc))}")
        return
    if current is None:
        return
    seen = st.session_state.setdefault("sandbox_boot_id", current.boot_id)
    if seen != current.boot_id:
        brought_back = ", ".join(f"{count} {what}" for what, count in current.restored.items() if count)
        st.warning(
            f"The local AWS restarted at {times.fmt(current.started_at)}; "
            + (f"it brought back {brought_back}." if brought_back else "it started empty."),
            icon=":material/restart_alt:",
        )
        st.button("Got it", key="sandbox_restart_seen", on_click=_seen, args=(current.boot_id,))
    if current.last_reset:
        st.caption(f"Last reset: {times.fmt(current.last_reset)}")
    if not allowed(Role.OPERATOR):
        return
    with st.popover("Reset the sandbox", icon=":material/delete_forever:"):
        st.markdown("Deletes every order, message, execution and payment record of the sandbox, then starts it empty.")
        typed = st.text_input("Type **reset** to confirm", key="sandbox_reset_confirm")
        if st.button("Reset", type="primary", disabled=typed != "reset", key="sandbox_reset"):
            with st.spinner("Resetting the local AWS..."):
                fresh = guarded(sandbox.reset, caller())
            st.session_state.sandbox_boot_id = fresh.boot_id
            data.clear()
            st.rerun()
