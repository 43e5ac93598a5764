"""Functions: each Lambda function's invocations, errors, throttles, cold starts, durations, billed duration and
memory over a chosen window, from its REPORT records (Logs Insights) and AWS/Lambda."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from plotly.subplots import make_subplots

from backend.functions import SOURCE, FunctionsReport
from backend.monitoring import WINDOWS
from pages.ui import data, times
from pages.ui.frame import page_frame
from pages.ui.widgets import guarded

page_frame("Functions")
times.setting()

window_col, refresh_col = st.columns([3, 1], vertical_alignment="bottom")
window = window_col.segmented_control("Window", list(WINDOWS), default="1 h", key="functions_window") or "1 h"
auto = refresh_col.toggle("Auto-refresh (30 s)", value=False, key="functions_autorefresh")
COLORS = ["#1565c0", "#ef6c00", "#6a1b9a", "#00897b"]  # one per function, the same in every panel


def table(report: FunctionsReport) -> pd.DataFrame:
    """One row per function."""
    rows = report.functions
    return pd.DataFrame(
        {
            "Function": [f.role for f in rows],
            "Invocations": [f.invocations for f in rows],
            "Errors": [f.errors for f in rows],
            "Throttles": [f.throttles for f in rows],
            "Cold starts": [f.cold_starts for f in rows],
            "Cold share": [f.cold_start_share for f in rows],
            "Init avg (ms)": [f.init_avg_ms for f in rows],
            "Init max (ms)": [f.init_max_ms for f in rows],
            "p50 (ms)": [f.p50_ms for f in rows],
            "p99 (ms)": [f.p99_ms for f in rows],
            "Billed sum (ms)": [f.billed_ms for f in rows],
            "Billed avg (ms)": [f.billed_avg_ms for f in rows],
            "Max memory used (MB)": [f.max_memory_used_mb for f in rows],
            "Memory (MB)": [f.memory_size_mb for f in rows],
        }
    )


@st.fragment(run_every="30s" if auto else None)
def figures() -> None:
    report = guarded(data.functions_report, window)
    number = st.column_config.NumberColumn
    st.dataframe(
        table(report),
        width="stretch",
        hide_index=True,
        key="functions_table",
        column_config={
            "Cold share": number(format="percent"),
            **{name: number(format="%.1f") for name in ("Init avg (ms)", "Init max (ms)", "p50 (ms)", "p99 (ms)")},
            "Billed avg (ms)": number(format="%.1f"),
            "Max memory used (MB)": number(format="%.0f"),
        },
    )
    st.caption(
        f"Source: {SOURCE}. Memory is the configured size the reports carry; cold starts are reports with an init "
        "duration. Throttled invocations never run, so only AWS/Lambda counts them."
    )
    if not any(f.points for f in report.functions):
        st.info("No function ran in this window: send test orders on Place order, or pick a longer window.",
                icon=":material/info:")  # fmt: skip
        return
    minutes = report.bucket_seconds // 60
    chart = make_subplots(
        rows=1, cols=2, horizontal_spacing=0.08,
        subplot_titles=[f"Invocations per {minutes} min (cold starts hatched)", "Duration p50 (solid), p99 (dotted)"],
    )  # fmt: skip
    width = report.bucket_seconds * 1000 * 0.8  # a lone bar on a time axis is otherwise 1 ms wide
    for index, f in enumerate(report.functions):
        color, at = COLORS[index % len(COLORS)], times.wall(p.at for p in f.points)
        warm = [p.invocations - p.cold_starts for p in f.points]
        chart.add_bar(x=at, y=warm, name=f.role, legendgroup=f.role, marker_color=color, width=[width] * len(at),
                      hovertemplate=f"%{{x|%H:%M}}: %{{y}} warm<extra>{f.role}</extra>", row=1, col=1)  # fmt: skip
        chart.add_bar(x=at, y=[p.cold_starts for p in f.points], name=f"{f.role} cold", legendgroup=f.role,
                      showlegend=False, marker={"color": color, "pattern": {"shape": "/"}}, width=[width] * len(at),
                      hovertemplate=f"%{{x|%H:%M}}: %{{y}} cold<extra>{f.role}</extra>", row=1, col=1)  # fmt: skip
        for name, dash in (("p50_ms", "solid"), ("p99_ms", "dot")):
            chart.add_scatter(x=at, y=[getattr(p, name) for p in f.points], name=f.role, legendgroup=f.role,
                              showlegend=False, mode="lines+markers", line={"color": color, "dash": dash},
                              hovertemplate=f"%{{x|%H:%M}}: %{{y:,.1f}} ms<extra>{f.role} {name[:3]}</extra>",
                              row=1, col=2)  # fmt: skip
    for column, title in ((1, "Invocations"), (2, "Duration (ms)")):
        chart.update_xaxes(times.axis(report.since, report.until), row=1, col=column)
        chart.update_yaxes({"title": {"text": title}, "rangemode": "tozero"}, row=1, col=column)
    chart.update_layout(barmode="stack", height=360, margin={"l": 0, "r": 0, "t": 30, "b": 0},
                        legend={"orientation": "h", "y": -0.25})  # fmt: skip
    st.plotly_chart(chart, width="stretch")


figures()
