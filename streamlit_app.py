"""Order pipeline app: sign-in, navigation and the sidebar that says who is signed in and which AWS it talks to."""

import streamlit as st

from pages._shared import render_sidebar, sign_in_gate

st.set_page_config(page_title="Order pipeline", page_icon=":package:", layout="wide")
# The gate draws the refusal or the sign-in buttons when no page may run yet; the navigation is hidden then.
may_run = sign_in_gate()
# Each page's URL is its file's name (/place is pages/place.py): never give a page another url_path. Streamlit
# serves the very first request to a fresh server from its pages/ folder discovery, which knows only file names
# (see _leave_legacy_pages_mode in pages/_shared.py).
navigation = st.navigation(
    {
        "Operations": [
            st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
            st.Page("pages/queues.py", title="Queues", icon=":material/inbox:"),
            st.Page("pages/executions.py", title="Executions", icon=":material/account_tree:"),
            st.Page("pages/metrics.py", title="Metrics", icon=":material/monitoring:"),
        ],
        "Orders": [
            st.Page("pages/place.py", title="Place order", icon=":material/add_shopping_cart:"),
            st.Page("pages/orders.py", title="Recent orders", icon=":material/list_alt:"),
            st.Page("pages/order.py", title="Order", icon=":material/receipt_long:"),
            st.Page("pages/notifications.py", title="Notifications", icon=":material/mail:"),
        ],
    },
    position="sidebar" if may_run else "hidden",
)
if not may_run:
    st.stop()
render_sidebar()
navigation.run()
