"""Metrics: KPIs, throughput by outcome, latency percentiles and per-Lambda metrics over a chosen window."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from backend.monitoring import WINDOWS
from pages import _data
from pages._shared import OUTCOME_COLORS, format_ms, format_rate, guarded

st.title("Metrics")

window_col, refresh_col = st.columns([3, 1], vertical_alignment="bottom")
window = window_col.segmented_control("Window", list(WINDOWS), default="1 h", key="metrics_window") or "1 h"
auto = refresh_col.toggle("Auto-refresh (15 s)", value=True, key="metrics_autorefresh")

PLOT_COLORS = {"green": "#2e7d32", "orange": "#ef6c00", "red": "#c62828", "blue": "#1565c0", "gray": "#757575"}


@st.fragment(run_every="15s" if auto else None)
def report() -> None:
    report = guarded(_data.window_report, window)
    kpis, points, latency = report.kpis, report.throughput, report.latency
    row1 = st.columns(4)
    row1[0].metric("Orders placed", kpis.placed, border=True, help="Executions started in the window.")
    row1[1].metric("Succeeded", kpis.succeeded, border=True)
    row1[2].metric("Success rate", format_rate(kpis.success_rate), border=True, help="Succeeded / finished.")
    row1[3].metric("In flight", kpis.running, border=True, help="Executions running now.")
    row2 = st.columns(4)
    row2[0].metric("Rejected", kpis.rejected, border=True, help="Failed the order rules (OrderRejected).")
    row2[1].metric("Declined", kpis.declined, border=True, help="Payment declined (PaymentDeclined).")
    row2[2].metric(
        "Errors", kpis.errored, border=True, help="Failed for a technical reason or timed out (OrderFailed, ...)."
    )
    row2[3].metric(
        "Payment decline rate",
        format_rate(kpis.decline_rate),
        border=True,
        help="Declined / payments the gateway answered (succeeded + declined).",
    )
    if kpis.stopped:
        st.caption(f"{kpis.stopped} executions were stopped by an operator in this window.")
    if kpis.placed == 0:
        st.info(
            "No orders in this window: send test orders on Place order, or pick a longer window.",
            icon=":material/info:",
        )
        st.page_link(
            "pages/place_order.py", label="Place order / send test orders", icon=":material/add_shopping_cart:"
        )
        return

    left, right = st.columns(2)
    with left:
        st.markdown("**Throughput by outcome** (orders/min)")
        frame = pd.DataFrame([p.model_dump() for p in points])
        if frame.empty:
            st.caption("Nothing finished yet.")
        else:
            frame["outcome"] = frame["outcome"].astype(str)
            colors = {o: PLOT_COLORS[c] for o, c in OUTCOME_COLORS.items()}
            chart = px.bar(frame, x="at", y="per_minute", color="outcome", color_discrete_map=colors)
            chart.update_layout(height=320, margin={"l": 0, "r": 0, "t": 10, "b": 0}, xaxis_title=None)
            st.plotly_chart(chart, width="stretch")
        st.caption(
            "Source: CloudWatch AWS/States ExecutionsSucceeded, Failed, Aborted and TimedOut, with OrdersRejected and "
            "PaymentsDeclined (OrderPipeline) telling rejections and declines from technical failures."
        )
    with right:
        st.markdown(
            f"**Execution time** p50 {format_ms(latency.p50)} · p90 {format_ms(latency.p90)} · "
            f"p99 {format_ms(latency.p99)}"
        )
        frame = pd.DataFrame([p.model_dump() for p in latency.points])
        if frame.empty:
            st.caption("Nothing finished yet.")
        else:
            long = frame.melt(id_vars="at", value_vars=["p50", "p90", "p99"], var_name="percentile", value_name="ms")
            chart = px.line(long, x="at", y="ms", color="percentile", markers=True)
            chart.update_layout(height=320, margin={"l": 0, "r": 0, "t": 10, "b": 0}, xaxis_title=None)
            st.plotly_chart(chart, width="stretch")
        st.caption(
            f"Source: CloudWatch AWS/States ExecutionTime percentiles ({latency.samples} executions); "
            "workflow start to stop."
        )

    st.markdown("**Lambda functions**")
    series = guarded(_data.lambda_metrics, window)
    rows = [
        {
            "Time": at,
            "Function": s.function,
            "Invocations": i,
            "Errors": e,
            "Avg duration (ms)": d,
            "Max duration (ms)": m,
        }
        for s in series
        for at, i, e, d, m in zip(
            s.timestamps, s.invocations, s.errors, s.duration_avg_ms, s.duration_max_ms, strict=True
        )
    ]
    if not rows:
        st.caption("No Lambda metrics in this window yet.")
        return
    frame = pd.DataFrame(rows)
    columns = st.columns(3)
    for column, metric in zip(columns, ("Invocations", "Errors", "Avg duration (ms)"), strict=True):
        with column:
            chart = px.line(frame, x="Time", y=metric, color="Function", markers=True)
            chart.update_layout(height=280, margin={"l": 0, "r": 0, "t": 30, "b": 0}, title=metric, showlegend=False)
            st.plotly_chart(chart, width="stretch")
    totals = (
        frame.groupby("Function").agg({"Invocations": "sum", "Errors": "sum", "Max duration (ms)": "max"}).reset_index()
    )
    st.dataframe(totals, width="stretch", hide_index=True, key="lambda_totals")
    st.caption("Source: CloudWatch AWS/Lambda (Sum, Average, Maximum per period).")


report()
