"""The frame every page draws first: the page's settings, the sign-in gate, the menu, the page's heading, then which
AWS the app talks to."""

from __future__ import annotations

import streamlit as st

from pages.ui import sidebar
from pages.ui.gate import sign_in_gate


def page_frame(title: str) -> None:
    """Draw the frame around a page titled title; stop the page when the gate does not let it run."""
    # Every page calls this itself, not streamlit_app.py: a fresh server serves its first sessions from Streamlit's
    # pages/ folder discovery, which runs the page's file alone (see pages/ui/menu.py).
    st.set_page_config(page_title="Order pipeline", page_icon=":package:", layout="wide")
    if not sign_in_gate():
        st.stop()
    sidebar.render_menu()
    st.title(title)
    sidebar.render_home()
