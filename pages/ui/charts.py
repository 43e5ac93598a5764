"""Charts of the pages: an execution's states as a timeline, the workflow graph with one execution's states
coloured by status, and per-state figures of a window."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
import plotly.express as px
import streamlit as st

from backend import graph
from backend.errors import BackendError
from backend.orders import OrderDetail
from backend.trace import OrderTrace
from pages.ui import data, times
from pages.ui.widgets import format_ms, plain

MAX_EXECUTIONS = graph.MAX_AGGREGATE_EXECUTIONS
_LEGEND = [
    (graph.StateStatus.SUCCEEDED, "succeeded"),
    (graph.StateStatus.CAUGHT, "caught (error handled by a Catch)"),
    (graph.StateStatus.FAILED, "failed (the execution ended here)"),
    (graph.StateStatus.RUNNING, "running"),
    (graph.StateStatus.NOT_REACHED, "not reached"),
]


_EMOJI = {
    graph.StateStatus.SUCCEEDED: "\N{LARGE GREEN SQUARE}",
    graph.StateStatus.CAUGHT: "\N{LARGE ORANGE SQUARE}",
    graph.StateStatus.FAILED: "\N{LARGE RED SQUARE}",
    graph.StateStatus.RUNNING: "\N{LARGE BLUE SQUARE}",
    graph.StateStatus.NOT_REACHED: "\N{WHITE LARGE SQUARE}",
}


def state_gantt(detail: OrderDetail) -> None:
    """The per-state timeline of an execution as a Gantt chart."""
    if not detail.timeline:
        return
    frame = pd.DataFrame(
        {
            "State": [run.name for run in detail.timeline],
            "Status": [run.status for run in detail.timeline],
            "Entered": times.wall(run.entered_at for run in detail.timeline),
            "Exited": times.wall(run.exited_at or run.entered_at for run in detail.timeline),
        }
    )
    chart = px.timeline(
        frame,
        x_start="Entered",
        x_end="Exited",
        y="State",
        color="Status",
        color_discrete_map={"SUCCEEDED": "#2e7d32", "FAILED": "#c62828", "RUNNING": "#1565c0"},
    )
    show_timeline(chart, list(frame["State"]), row_height=40)


def show_timeline(chart: Any, rows: list[str], row_height: int, key: str | None = None) -> None:
    """A px.timeline chart with its rows top to bottom in the order they came (plotly would group them by the
    colour's trace), on the app's time axis, as tall as its rows."""
    order = list(dict.fromkeys(rows))
    chart.update_yaxes(autorange="reversed", title=None, categoryorder="array", categoryarray=order)
    chart.update_xaxes(title=times.header("Time"))
    chart.update_layout(height=120 + row_height * len(order), margin={"l": 0, "r": 0, "t": 10, "b": 0})
    st.plotly_chart(chart, width="stretch", key=key)


_TRACE_COLOURS = {
    "placed": "#6a1b9a",
    "queued": "#9e9e9e",
    "batch": "#00838f",
    "execution": "#1565c0",
    "task": "#2e7d32",
    "idempotency": "#ef6c00",
    "notification": "#ad1457",
}


def trace_gantt(trace: OrderTrace) -> None:
    """An order's trace on one timeline: a bar per step, instants as thin marks, retries as their own bars."""
    if not trace.steps:
        return
    first = min(step.started_at for step in trace.steps)
    last = max(step.ended_at or step.started_at for step in trace.steps)
    mark = max((last - first) / 200, timedelta(milliseconds=5))  # an instant still shows
    labels = [
        f"{step.name} (attempt {step.attempt})" if step.attempt and step.attempt > 1 else step.name
        for step in trace.steps
    ]
    ends = [max(step.ended_at or last, step.started_at + mark) for step in trace.steps]
    frame = pd.DataFrame(
        {
            "Step": labels,
            "Kind": [step.kind for step in trace.steps],
            "Start": times.wall(step.started_at for step in trace.steps),
            "End": times.wall(ends),
            "Request id": [step.request_id or "" for step in trace.steps],
        }
    )
    chart = px.timeline(
        frame,
        x_start="Start",
        x_end="End",
        y="Step",
        color="Kind",
        color_discrete_map=_TRACE_COLOURS,
        hover_data=["Request id"],
    )
    show_timeline(chart, labels, row_height=32, key="order_trace_chart")


def legend() -> None:
    """What the node colours mean (as text, next to the graph)."""
    swatches = " · ".join(f"{_EMOJI[status]} {text}" for status, text in _LEGEND)
    st.caption(f"{swatches} · a thick orange border: retried. Dashed red edges: Catch.")


def execution_graph(detail: OrderDetail) -> None:
    """The state machine's definition (DescribeStateMachine) with each state's status in this order's execution (from
    the history its detail was read with)."""
    try:
        workflow = data.workflow()
        results = graph.detail_results(workflow, detail)
    except BackendError as exc:
        st.error(plain(str(exc)), icon=":material/error:")
        return
    if results is None:
        st.info("The local AWS no longer keeps this execution's history, so its states cannot be coloured.")
        st.graphviz_chart(graph.dot(workflow), width="content")
        return
    st.graphviz_chart(graph.dot(workflow, results), width="content")
    legend()
    st.caption("Source: the deployed state machine's definition (DescribeStateMachine) and the execution's history.")


def window_figures(window: str | None) -> None:
    """Per state over the newest executions of the window: entered, failed, retried, mean and p90 duration."""
    limit = st.select_slider(
        "Executions to read",
        [25, 50, 100, MAX_EXECUTIONS],
        value=50,
        key="workflow_figures_limit",
        help="The newest executions of the window; each costs one GetExecutionHistory call.",
    )
    try:
        workflow = data.workflow()
        report = data.workflow_aggregate(window, int(limit))
    except BackendError as exc:
        st.error(plain(str(exc)), icon=":material/error:")
        return
    covered = f"{report.executions} executions"
    if report.capped:
        covered += f" (the newest {report.listed} of the window)"
    if report.without_history:
        covered += f"; {report.without_history} more whose history the local AWS no longer keeps were skipped"
    if not report.executions:
        st.info(f"No execution histories to read in this window ({plain(covered)}).", icon=":material/info:")
        return
    stats = {state.name: state for state in report.states}
    graph_col, table_col = st.columns([2, 3])
    with graph_col:
        st.graphviz_chart(graph.dot(workflow, stats=stats), width="content")
    with table_col:
        st.dataframe(
            pd.DataFrame(
                {
                    "State": [s.name for s in report.states],
                    "Entered": [s.entered for s in report.states],
                    "Failed": [s.failed for s in report.states],
                    "Retried": [s.retried for s in report.states],
                    "Mean": [format_ms(s.mean_ms) for s in report.states],
                    "p90": [format_ms(s.p90_ms) for s in report.states],
                }
            ),
            width="stretch",
            hide_index=True,
            key="workflow_figures",
            column_config={
                "Entered": st.column_config.NumberColumn(help="Executions that entered the state."),
                "Failed": st.column_config.NumberColumn(help="Executions in which the state failed (caught or not)."),
                "Retried": st.column_config.NumberColumn(help="Executions in which the state was retried."),
                "Mean": st.column_config.TextColumn("Mean time in state"),
                "p90": st.column_config.TextColumn("p90 time in state"),
            },
        )
    st.caption(
        f"Covers {plain(covered)}. Source: the deployed definition (DescribeStateMachine) and each execution's "
        "GetExecutionHistory; cached 30 s."
    )
