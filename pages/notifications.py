"""Notifications: what customers were told, newest first, and how many of each kind, over a window."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from backend.monitoring import WINDOWS
from pages.ui import data, times
from pages.ui.frame import page_frame
from pages.ui.widgets import guarded, order_link_column

page_frame("Notifications")
times.setting()
window_col, limit_col = st.columns([3, 1], vertical_alignment="bottom")
window = window_col.segmented_control("Sent within", list(WINDOWS), default="1 h", key="notify_window") or "1 h"
limit = limit_col.selectbox("Show the last", [25, 50, 100, 200], index=1, key="notify_limit")

report = guarded(data.notification_report, window, int(limit))
if not report.scanned:
    st.info(
        "No notifications sent in this window: place an order, and its outcome is told here.", icon=":material/info:"
    )
    st.stop()

kinds = list(report.counts)
counts = st.columns(max(1, len(kinds)))
for column, kind in zip(counts, kinds, strict=False):
    column.metric(kind.title(), report.counts[kind], border=True, help=f"{kind} notifications sent in the window.")
chart = go.Figure(go.Bar(x=kinds, y=[report.counts[k] for k in kinds], hovertemplate="%{x}: %{y} sent<extra></extra>"))
chart.update_layout(
    height=220,
    margin={"l": 0, "r": 0, "t": 10, "b": 0},
    xaxis_title="Kind",
    yaxis_title="Notifications sent",
    yaxis={"rangemode": "tozero", "tickformat": ",d"},
)
st.plotly_chart(chart, width="stretch")

frame = pd.DataFrame(
    {
        "Sent": times.column(n.sent_at for n in report.recent),
        "Kind": [n.kind for n in report.recent],
        "Order": [n.order_id or "" for n in report.recent],
        "Text": [n.text for n in report.recent],
    }
)
config = order_link_column(frame) | {"Sent": times.datetime_column("Sent")}
st.dataframe(frame, width="stretch", hide_index=True, column_config=config, key="notify_table")
truncated = " Only the first pages of the window were read: narrow it for exact counts." if report.truncated else ""
st.caption(
    f"The last {len(report.recent)} of {report.scanned} notifications sent from {times.fmt(report.since)} to "
    f'{times.fmt(report.until)}.{truncated} Source: the SendNotification function\'s "notification sent" log lines '
    "(CloudWatch Logs FilterLogEvents), on AWS and on the local AWS alike: SNS keeps no copy of what it sent."
)
