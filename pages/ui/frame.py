"""The frame every page draws first: the page's settings, the sign-in gate, the menu, the page's heading, what the
app is doing while it connects (starting the local AWS on a cold start), then which AWS it talks to."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from pages.ui import data, sidebar
from pages.ui.gate import sign_in_gate
from pages.ui.widgets import guarded

STARTING_LOCAL_AWS = "Starting the local AWS and deploying the pipeline's stack on it…"
CONNECTING = "Connecting to AWS…"


def page_frame(title: str) -> None:
    """Draw the frame around a page titled title; stop the page when the gate does not let it run."""
    # Every page calls this itself, not streamlit_app.py: a fresh server serves its first sessions from Streamlit's
    # pages/ folder discovery, which runs the page's file alone (see pages/ui/menu.py).
    st.set_page_config(page_title="Order pipeline", page_icon=":package:", layout="wide")
    if not sign_in_gate():
        st.stop()
    readiness = data.readiness()  # first thing after the gate: on a cold start, the local AWS starts meanwhile
    st.title(title)  # the first thing the browser gets: before the menu, which is drawn beside it anyway
    # Drawn on every run, used or not: an element that only some runs draw would shift the page's elements after it,
    # and Streamlit would redraw them afresh (an open expander would close).
    slot = st.empty()
    sidebar.render_menu()
    if not readiness.ready:
        _wait_until_connected(slot, readiness.starting_local_aws)
    sidebar.render_home()


def _wait_until_connected(slot: DeltaGenerator, starting_local_aws: bool) -> None:
    """Say in slot what the app is doing until it is connected, then take the message away."""
    # Not a with block: leaving one would mark the status complete while the wait below is still on.
    status = slot.status(STARTING_LOCAL_AWS if starting_local_aws else CONNECTING, expanded=starting_local_aws)
    if starting_local_aws:
        status.caption(
            "Once per machine: the local AWS takes a few seconds to start and deploy infra/template.yaml, then every "
            "page, the command line and the AWS tools share it. The page fills in as soon as it answers."
        )
    guarded(data.home)  # returns once the connection being made in the background is there
    slot.empty()
