"""Recent orders: the newest orders with their outcome; pick one to open it."""

import pandas as pd
import streamlit as st

from pages.ui import data, times
from pages.ui.frame import page_frame
from pages.ui.widgets import guarded

page_frame("Recent orders")
times.setting()

limit = st.segmented_control("Show", options=[25, 100, 500], default=100, format_func=lambda n: f"last {n}")


@st.fragment(run_every="5s")
def table() -> None:
    orders = guarded(data.recent_orders, limit or 100)
    if not orders:
        st.info("No orders yet: place one, or send test orders, on the Place order page.", icon=":material/info:")
        st.page_link("pages/place.py", label="Place order", icon=":material/add_shopping_cart:")
        return
    frame = pd.DataFrame(
        {
            "Order": [f"order?order={o.order_id}" for o in orders],
            "Outcome": [o.outcome.value for o in orders],
            "Started": times.column(o.started_at for o in orders),
            "Duration (ms)": [o.duration_ms for o in orders],
            "Error": [o.error or "" for o in orders],
        }
    )
    st.dataframe(
        frame,
        width="stretch",
        hide_index=True,
        column_config={
            "Order": st.column_config.LinkColumn("Order", display_text=r"order=(.*)$"),
            "Started": times.datetime_column("Started"),
            "Duration (ms)": st.column_config.NumberColumn(format="%.0f"),
        },
    )
    st.caption(f"{len(orders)} newest orders; refreshes every 5 s.")


table()
