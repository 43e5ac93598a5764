"""Order pipeline app: the router of its pages. Each page draws the app's frame itself (sign-in gate, menu, sidebar:
pages/ui/frame.py), so that it is the same whether this file or Streamlit's pages/ folder discovery runs it."""

import streamlit as st

from pages.ui import menu

# The menu is drawn by the pages (pages/ui/menu.py): Streamlit's own is hidden, here and in .streamlit/config.toml.
st.navigation(menu.streamlit_pages(), position="hidden").run()
