"""Order pipeline app: navigation and the sidebar that says which AWS it talks to."""

import streamlit as st

from pages._shared import render_sidebar

st.set_page_config(page_title="Order pipeline", page_icon=":package:", layout="wide")

navigation = st.navigation(
    {
        "Orders": [
            st.Page("pages/place_order.py", title="Place order", icon=":material/add_shopping_cart:", default=True),
            st.Page("pages/orders.py", title="Recent orders", icon=":material/list_alt:", url_path="orders"),
            st.Page("pages/order.py", title="Order", icon=":material/receipt_long:", url_path="order"),
        ],
    }
)
render_sidebar()
navigation.run()
