"""Order pipeline app: sign-in, navigation and the sidebar that says who is signed in and which AWS it talks to."""

import streamlit as st

from pages._shared import render_sidebar, sign_in_gate

st.set_page_config(page_title="Order pipeline", page_icon=":package:", layout="wide")
# The gate draws the refusal or the sign-in buttons when no page may run yet; the navigation is hidden then.
may_run = sign_in_gate()
navigation = st.navigation(
    {
        "Operations": [
            st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
            st.Page("pages/queues.py", title="Queues", icon=":material/inbox:", url_path="queues"),
            st.Page("pages/executions.py", title="Executions", icon=":material/account_tree:", url_path="executions"),
            st.Page("pages/metrics.py", title="Metrics", icon=":material/monitoring:", url_path="metrics"),
        ],
        "Orders": [
            st.Page("pages/place_order.py", title="Place order", icon=":material/add_shopping_cart:", url_path="place"),
            st.Page("pages/orders.py", title="Recent orders", icon=":material/list_alt:", url_path="orders"),
            st.Page("pages/order.py", title="Order", icon=":material/receipt_long:", url_path="order"),
            st.Page("pages/notifications.py", title="Notifications", icon=":material/mail:", url_path="notifications"),
        ],
    },
    position="sidebar" if may_run else "hidden",
)
if not may_run:
    st.stop()
render_sidebar()
navigation.run()
