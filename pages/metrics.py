"""Metrics: KPIs, throughput by outcome, latency percentiles, per-Lambda metrics and the cost per order over a chosen
window."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from backend import costs, monitoring
from backend.monitoring import WINDOWS, bucket_seconds
from backend.pricing import PRICES_CHECKED, SERVICE_NAMES, SERVICES
from pages.ui import data, times
from pages.ui.frame import page_frame
from pages.ui.widgets import OUTCOME_COLORS, format_ms, format_rate, guarded

page_frame("Metrics")
times.setting()

window_col, refresh_col = st.columns([3, 1], vertical_alignment="bottom")
window = window_col.segmented_control("Window", list(WINDOWS), default="1 h", key="metrics_window") or "1 h"
auto = refresh_col.toggle("Auto-refresh (15 s)", value=True, key="metrics_autorefresh")

PLOT_COLORS = {"green": "#2e7d32", "orange": "#ef6c00", "red": "#c62828", "blue": "#1565c0", "gray": "#757575"}
LAMBDA_COLORS = ["#1565c0", "#ef6c00", "#6a1b9a", "#00897b"]  # one per function, the same in every panel
SERVICE_COLORS = {
    "lambda_requests": "#90caf9",
    "lambda_compute": "#1565c0",
    "step_functions": "#6a1b9a",
    "sqs": "#ef6c00",
}


@st.fragment(run_every="15s" if auto else None)
def report() -> None:
    report = guarded(data.window_report, window)
    bucket_ms = bucket_seconds(WINDOWS[window]) * 1000
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
        st.page_link("pages/place.py", label="Place order / send test orders", icon=":material/add_shopping_cart:")
        return

    left, right = st.columns(2)
    with left:
        st.markdown("**Throughput by outcome** (orders/min)")
        if not points:
            st.caption("Nothing finished yet.")
        else:
            chart = go.Figure()
            for outcome in dict.fromkeys(point.outcome for point in points):
                mine = [point for point in points if point.outcome is outcome]
                chart.add_bar(
                    x=times.wall(p.at for p in mine),
                    y=[p.per_minute for p in mine],
                    name=outcome.value,
                    marker_color=PLOT_COLORS[OUTCOME_COLORS[outcome.value]],
                    # A lone bar on a time axis is otherwise 1 ms wide.
                    width=[bucket_ms * 0.8] * len(mine),
                    hovertemplate=f"%{{x|%H:%M}} {times.label()}: %{{y:.1f}} orders/min<extra>{outcome.value}</extra>",
                )
            chart.update_layout(barmode="stack", **_layout(320, "Orders finished per minute", report))
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
        if not latency.points:
            st.caption("Nothing finished yet.")
        else:
            chart = go.Figure()
            for name in ("p50", "p90", "p99"):
                chart.add_scatter(
                    x=times.wall(p.at for p in latency.points),
                    y=[getattr(p, name) for p in latency.points],
                    name=name,
                    mode="lines+markers",
                    hovertemplate=f"%{{x|%H:%M}} {times.label()}: %{{y:,.0f}} ms<extra>{name}</extra>",
                )
            chart.update_layout(**_layout(320, "Execution time (ms)", report))
            st.plotly_chart(chart, width="stretch")
        st.caption(
            f"Source: CloudWatch AWS/States ExecutionTime percentiles ({latency.samples} executions); "
            "workflow start to stop."
        )

    st.markdown("**Lambda functions**")
    series = guarded(data.lambda_metrics, window)
    if not any(s.timestamps for s in series):
        st.caption("No Lambda metrics in this window yet.")
        return
    # One figure of three panels, so one legend names the functions for all of them.
    panels = (
        ("Invocations", "invocations", "Invocations per period"),
        ("Errors", "errors", "Errors per period"),
        ("Average duration", "duration_avg_ms", "Average duration (ms)"),
    )
    chart = make_subplots(rows=1, cols=3, subplot_titles=[title for title, _, _ in panels], horizontal_spacing=0.08)
    for column, (_, values, unit) in enumerate(panels, start=1):
        for s in series:
            chart.add_scatter(
                x=times.wall(s.timestamps),
                y=getattr(s, values),
                name=s.function,
                legendgroup=s.function,
                showlegend=column == 1,
                mode="lines+markers",
                marker_color=LAMBDA_COLORS[series.index(s) % len(LAMBDA_COLORS)],
                hovertemplate=f"%{{x|%H:%M}} {times.label()}: %{{y:,.1f}}<extra>{s.function}</extra>",
                row=1,
                col=column,
            )
        xaxis, yaxis = _axes(unit, report)
        chart.update_xaxes(xaxis, row=1, col=column)
        chart.update_yaxes(yaxis, row=1, col=column)
    chart.update_layout(height=340, margin={"l": 0, "r": 0, "t": 30, "b": 0}, legend={"orientation": "h", "y": -0.3})
    st.plotly_chart(chart, width="stretch")
    totals = pd.DataFrame(
        {
            "Function": [s.function for s in series],
            "Invocations": [sum(s.invocations) for s in series],
            "Errors": [sum(s.errors) for s in series],
            "Max duration (ms)": [max((m for m in s.duration_max_ms if m is not None), default=None) for s in series],
        }
    )
    st.dataframe(
        totals,
        width="stretch",
        hide_index=True,
        key="lambda_totals",
        column_config={"Max duration (ms)": st.column_config.NumberColumn(format="%.0f")},
    )
    st.caption("Source: CloudWatch AWS/Lambda (Sum, Average, Maximum per period).")


def dollars(value: object) -> str:
    """A cost with enough decimals to show a fraction of a cent: $0.000137."""
    return "–" if value is None else f"${value:.6f}" if value < 1 else f"${value:,.2f}"  # type: ignore[operator]


@st.fragment(run_every="30s" if auto else None)
def cost() -> None:
    st.markdown("**Cost per order**")
    measured = guarded(data.order_cost, window)
    per_order = measured.per_order
    tiles = st.columns(4)
    tiles[0].metric("Cost per order", dollars(per_order.total if per_order else None), border=True,
                    help="The window's measured cost / the orders that finished in it.")  # fmt: skip
    tiles[1].metric("Orders finished", measured.orders, border=True)
    tiles[2].metric("Cost in window", dollars(measured.cost.total), border=True)
    transitions = measured.transitions_per_execution
    tiles[3].metric("Transitions / execution", "–" if transitions is None else f"{transitions:.1f}", border=True,
                    help=f"Mean states entered (retries included) of {measured.sampled_executions} finished "
                    "executions' histories.")  # fmt: skip
    points = [point for point in measured.points if point.per_order is not None]
    if per_order is None or not points:
        st.caption("No order finished in this window yet.")
    else:
        bucket_ms = measured.bucket_seconds * 1000
        chart = go.Figure()
        for service in SERVICES:
            chart.add_bar(
                x=times.wall(p.at for p in points),
                y=[float(getattr(p.per_order, service)) for p in points],
                name=SERVICE_NAMES[service],
                marker_color=SERVICE_COLORS[service],
                width=[bucket_ms * 0.8] * len(points),
                hovertemplate=f"%{{x|%H:%M}} {times.label()}: $%{{y:.7f}}<extra>{SERVICE_NAMES[service]}</extra>",
            )
        xaxis = times.axis(measured.since, measured.until)
        yaxis = {"title": {"text": "$ per order finished"}, "rangemode": "tozero", "tickformat": "$.6f"}
        chart.update_layout(barmode="stack", height=320, margin={"l": 0, "r": 0, "t": 30, "b": 0}, xaxis=xaxis,
                            yaxis=yaxis, legend={"orientation": "h", "y": -0.25})  # fmt: skip
        st.plotly_chart(chart, width="stretch")
        parts = pd.DataFrame(
            {
                "Service": [SERVICE_NAMES[s] for s in SERVICES],
                "Per order ($)": [f"{getattr(per_order, s):.9f}" for s in SERVICES],
                "In window ($)": [f"{getattr(measured.cost, s):.9f}" for s in SERVICES],
            }
        )
        st.dataframe(parts, width="stretch", hide_index=True, key="cost_parts")
    st.caption(f"Method: {costs.METHOD} Priced at us-east-1 list prices checked {PRICES_CHECKED} (backend/pricing.py).")


def _layout(height: int, y_title: str, report: monitoring.WindowReport) -> dict[str, object]:
    """A chart's height, margins and axes."""
    xaxis, yaxis = _axes(y_title, report)
    return {"height": height, "margin": {"l": 0, "r": 0, "t": 30, "b": 0}, "xaxis": xaxis, "yaxis": yaxis}


def _axes(y_title: str, report: monitoring.WindowReport) -> tuple[dict[str, object], dict[str, object]]:
    """Axes with titles and units; the x axis spans the whole window, so one bucket of data reads right."""
    return times.axis(report.since, report.until), {"title": {"text": y_title}, "rangemode": "tozero"}


report()
cost()
