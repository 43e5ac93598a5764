"""The workflow as a graph: the state machine's own definition (DescribeStateMachine) as nodes and edges, each state's
status in one execution (from its history), and per-state figures over many executions."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from enum import StrEnum
from typing import Any

import graphviz
from botocore.exceptions import ClientError
from pydantic import BaseModel

from backend import aws
from backend.errors import translated
from backend.executions import StateRun, history_events, timeline
from backend.orders import OrderDetail
from backend.stats import percentile

MAX_AGGREGATE_EXECUTIONS = 200
_HISTORY_WORKERS = 8
_OPERATORS = {  # Choice rule comparison -> how it reads on an edge
    "StringEquals": "==",
    "NumericEquals": "==",
    "BooleanEquals": "==",
    "NumericLessThan": "<",
    "NumericGreaterThan": ">",
    "NumericLessThanEquals": "<=",
    "NumericGreaterThanEquals": ">=",
    "IsPresent": "present:",
}
START, END = "__start__", "__end__"


class EdgeKind(StrEnum):
    """Why the workflow moves along an edge."""

    NEXT = "next"
    CHOICE = "choice"
    DEFAULT = "default"
    CATCH = "catch"
    END = "end"


class Node(BaseModel):
    """One state of the definition."""

    name: str
    type: str
    comment: str | None = None


class Edge(BaseModel):
    """A transition between two states (or to the end); label says when it is taken."""

    source: str
    target: str
    kind: EdgeKind
    label: str = ""


class Workflow(BaseModel):
    """A state machine definition as a graph (top-level states)."""

    start_at: str
    nodes: list[Node]
    edges: list[Edge]

    @property
    def names(self) -> list[str]:
        return [node.name for node in self.nodes]


class StateStatus(StrEnum):
    """How a state fared in one execution."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CAUGHT = "caught"
    RUNNING = "running"
    NOT_REACHED = "not reached"


class StateResult(BaseModel):
    """One state's status in one execution: retries over all its visits, the last error seen, time spent."""

    name: str
    status: StateStatus
    visits: int = 0
    retries: int = 0
    error: str | None = None
    duration_ms: float | None = None

    @property
    def text(self) -> str:
        """The status as said to people, e.g. "caught after 2 retries"."""
        if self.retries and self.status is not StateStatus.NOT_REACHED:
            return f"{self.status.value} after {self.retries} {'retry' if self.retries == 1 else 'retries'}"
        return self.status.value


class StateStats(BaseModel):
    """One state over many executions: how many entered it, failed in it (caught or not), were retried in it."""

    name: str
    entered: int = 0
    failed: int = 0
    retried: int = 0
    mean_ms: float | None = None
    p90_ms: float | None = None


class Aggregate(BaseModel):
    """Per-state figures over the newest executions of a window; says how many it covers and skipped."""

    states: list[StateStats]
    executions: int
    listed: int
    without_history: int = 0
    capped: bool = False


# --- pure functions ------------------------------------------------------------------------------


def parse_definition(definition: str | dict[str, Any]) -> Workflow:
    """The graph of an Amazon States Language definition: states, and Next, Choice, Default, Catch and End edges."""
    document = json.loads(definition) if isinstance(definition, str) else definition
    states: dict[str, Any] = document.get("States", {})
    nodes = [
        Node(name=name, type=state.get("Type", "?"), comment=state.get("Comment")) for name, state in states.items()
    ]
    edges = [Edge(source=START, target=document["StartAt"], kind=EdgeKind.NEXT)]
    for name, state in states.items():
        for index, rule in enumerate(state.get("Choices", [])):
            edges.append(Edge(source=name, target=rule["Next"], kind=EdgeKind.CHOICE, label=_rule_text(rule, index)))
        if "Default" in state:
            edges.append(Edge(source=name, target=state["Default"], kind=EdgeKind.DEFAULT, label="otherwise"))
        if "Next" in state:
            edges.append(Edge(source=name, target=state["Next"], kind=EdgeKind.NEXT))
        for catcher in state.get("Catch", []):
            errors = ", ".join(catcher.get("ErrorEquals", []))
            edges.append(Edge(source=name, target=catcher["Next"], kind=EdgeKind.CATCH, label=f"catch {errors}"))
        if state.get("End") or state.get("Type") in {"Succeed", "Fail"}:
            edges.append(Edge(source=name, target=END, kind=EdgeKind.END))
    return Workflow(start_at=document["StartAt"], nodes=nodes, edges=edges)


def _rule_text(rule: dict[str, Any], index: int) -> str:
    if "Condition" in rule:  # JSONata
        return str(rule["Condition"])
    for key, symbol in _OPERATORS.items():
        if key in rule:
            return f"{rule.get('Variable', '')} {symbol} {json.dumps(rule[key])}"
        if f"{key}Path" in rule:
            return f"{rule.get('Variable', '')} {symbol} {rule[f'{key}Path']}"
    return f"rule {index + 1}"


def state_results(workflow: Workflow, events: Sequence[dict[str, Any]]) -> dict[str, StateResult]:
    """Each state's status in one execution, from its history (oldest first or not)."""
    return results_from_runs(workflow, timeline(list(events)), _execution_status(events))


def _execution_status(events: Iterable[dict[str, Any]]) -> str:
    status = "RUNNING"
    for event in events:
        kind = event["type"]
        if kind.startswith("Execution") and kind != "ExecutionStarted" and kind != "ExecutionRedriven":
            status = kind.removeprefix("Execution").upper()
        elif kind == "ExecutionRedriven":
            status = "RUNNING"
    return status


def results_from_runs(workflow: Workflow, runs: Sequence[StateRun], execution_status: str) -> dict[str, StateResult]:
    """Per-state results from the visits of one execution: a state whose task failed and that was left for another
    state was caught; one the execution ended in while failing (a Fail state, an uncaught error) failed."""
    results = {name: StateResult(name=name, status=StateStatus.NOT_REACHED) for name in workflow.names}
    for index, run in enumerate(runs):
        result = results.setdefault(run.name, StateResult(name=run.name, status=StateStatus.NOT_REACHED))
        last = index == len(runs) - 1
        result.visits += 1
        result.retries += max(0, run.attempts - 1)
        result.error = run.error or (run.failed_attempts[-1] if run.failed_attempts else result.error)
        if run.duration_ms is not None:
            result.duration_ms = (result.duration_ms or 0.0) + run.duration_ms
        if last and execution_status == "RUNNING":
            result.status = StateStatus.RUNNING
        elif last and execution_status in {"FAILED", "TIMED_OUT", "ABORTED"}:
            result.status = StateStatus.FAILED
        elif run.status == "FAILED":
            result.status = StateStatus.CAUGHT
        else:
            result.status = StateStatus.SUCCEEDED
    return results


def aggregate(
    workflow: Workflow, runs_per_execution: Sequence[Sequence[StateRun]], listed: int, **extra: Any
) -> Aggregate:
    """Per-state figures over executions' visits: entered, failed (caught or not), retried, mean and p90 duration."""
    stats = {name: StateStats(name=name) for name in workflow.names}
    durations: dict[str, list[float]] = {name: [] for name in workflow.names}
    for runs in runs_per_execution:
        entered: set[str] = set()
        failed: set[str] = set()
        retried: set[str] = set()
        for run in runs:
            stats.setdefault(run.name, StateStats(name=run.name))
            entered.add(run.name)
            if run.status == "FAILED" or run.error:
                failed.add(run.name)
            if run.attempts > 1:
                retried.add(run.name)
            if run.duration_ms is not None:
                durations.setdefault(run.name, []).append(run.duration_ms)
        for name in entered:
            stats[name].entered += 1
        for name in failed:
            stats[name].failed += 1
        for name in retried:
            stats[name].retried += 1
    for name, values in durations.items():
        if values:
            stats[name].mean_ms = sum(values) / len(values)
            stats[name].p90_ms = percentile(values, 90)
    return Aggregate(states=list(stats.values()), executions=len(runs_per_execution), listed=listed, **extra)


# --- drawing -------------------------------------------------------------------------------------

STATUS_COLORS = {
    StateStatus.SUCCEEDED: "#c8e6c9",
    StateStatus.FAILED: "#ffcdd2",
    StateStatus.CAUGHT: "#ffe0b2",
    StateStatus.RUNNING: "#bbdefb",
    StateStatus.NOT_REACHED: "#eeeeee",
}
RETRIED_BORDER = "#ef6c00"
_SHAPES = {"Choice": "diamond", "Succeed": "doubleoctagon", "Fail": "octagon", "Pass": "box", "Wait": "box"}


def dot(
    workflow: Workflow,
    results: dict[str, StateResult] | None = None,
    stats: dict[str, StateStats] | None = None,
) -> graphviz.Digraph:
    """The workflow as a graphviz digraph; with results, each state coloured by its status; with stats, its figures.
    Every label is escaped: graphviz reads backslashes and <...> in labels as markup otherwise."""
    graph = graphviz.Digraph("workflow")
    graph.attr(rankdir="TB", bgcolor="transparent", fontname="Helvetica", nodesep="0.35", ranksep="0.35")
    graph.attr("node", shape="box", style="rounded,filled", fontname="Helvetica", fontsize="11", fillcolor="white")
    graph.attr("edge", fontname="Helvetica", fontsize="9", color="#616161")
    ids = {node.name: f"s{index}" for index, node in enumerate(workflow.nodes)}
    graph.node(START, label="", shape="circle", width="0.2", style="filled", fillcolor="black")
    graph.node(END, label="", shape="doublecircle", width="0.15", style="filled", fillcolor="black")
    for node in workflow.nodes:
        lines = [node.name]
        attributes: dict[str, str] = {"shape": _SHAPES.get(node.type, "box")}
        if node.type in {"Choice", "Succeed", "Fail"}:
            attributes["style"] = "filled"
        if results is not None:
            result = results.get(node.name) or StateResult(name=node.name, status=StateStatus.NOT_REACHED)
            lines.append(result.text)
            attributes["fillcolor"] = STATUS_COLORS[result.status]
            if result.retries:
                attributes |= {"color": RETRIED_BORDER, "penwidth": "2.5"}
            if result.status is StateStatus.NOT_REACHED:
                attributes["fontcolor"] = "#757575"
        if stats is not None and node.name in stats:
            figure = stats[node.name]
            lines.append(f"entered {figure.entered} · failed {figure.failed} · retried {figure.retried}")
            if figure.mean_ms is not None:
                lines.append(f"mean {_ms(figure.mean_ms)} · p90 {_ms(figure.p90_ms)}")
            attributes["fillcolor"] = _heat(figure)
        graph.node(ids[node.name], label=_label(lines), **attributes)
    for edge in workflow.edges:
        source = ids.get(edge.source, edge.source)
        target = ids.get(edge.target, edge.target)
        attributes = {"label": graphviz.escape(edge.label)} if edge.label else {}
        if edge.kind is EdgeKind.CATCH:
            attributes |= {"style": "dashed", "color": "#c62828", "fontcolor": "#c62828"}
        if results is not None and _taken(edge, results):
            attributes |= {"penwidth": "2", "color": attributes.get("color", "#212121")}
        graph.edge(source, target, **attributes)
    return graph


def _label(lines: list[str]) -> str:
    # Each line escaped, joined by DOT's own line break; nohtml keeps a label that looks like <...> plain text.
    return graphviz.nohtml("\\n".join(graphviz.escape(line) for line in lines))


def _taken(edge: Edge, results: dict[str, StateResult]) -> bool:
    reached = {name for name, result in results.items() if result.status is not StateStatus.NOT_REACHED}
    source_ok = edge.source == START or edge.source in reached
    target_ok = edge.target == END or edge.target in reached
    return source_ok and target_ok and not (edge.source == START and edge.target == END)


def _heat(figure: StateStats) -> str:
    if not figure.entered:
        return STATUS_COLORS[StateStatus.NOT_REACHED]
    return STATUS_COLORS[StateStatus.CAUGHT] if figure.failed else STATUS_COLORS[StateStatus.SUCCEEDED]


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f} ms" if value < 10_000 else f"{value / 1000:.1f} s"


# --- reads ---------------------------------------------------------------------------------------


@translated
def workflow() -> Workflow:
    """The deployed state machine's definition as a graph (DescribeStateMachine)."""
    described = aws.client("stepfunctions").describe_state_machine(stateMachineArn=aws.resources().state_machine_arn)
    return parse_definition(described["definition"])


def _history(sfn: Any, execution_arn: str) -> list[dict[str, Any]] | None:
    """An execution's whole history, or None when the local AWS no longer keeps it."""
    try:
        return history_events(sfn, execution_arn)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"ResourceNotFound", "ExecutionDoesNotExist"}:
            return None
        raise


def detail_results(workflow: Workflow, detail: OrderDetail) -> dict[str, StateResult] | None:
    """Each state's status in an order's execution, from the timeline its detail already holds (no second read of
    the history); None when the history is gone."""
    if detail.history_note is not None:
        return None
    return results_from_runs(workflow, detail.timeline, detail.status or "RUNNING")


@translated
def window_aggregate(since: datetime | None, limit: int = MAX_AGGREGATE_EXECUTIONS) -> Aggregate:
    """Per-state figures over the newest executions started since (at most limit, read 8 histories at a time)."""
    limit = max(1, min(limit, MAX_AGGREGATE_EXECUTIONS))
    sfn = aws.client("stepfunctions")
    graph = workflow()
    arns: list[str] = []
    capped = False
    for page in sfn.get_paginator("list_executions").paginate(
        stateMachineArn=aws.resources().state_machine_arn, PaginationConfig={"PageSize": 100}
    ):
        for item in page["executions"]:
            if since and item["startDate"] < since:
                break
            if len(arns) == limit:
                capped = True
                break
            arns.append(item["executionArn"])
        else:
            continue
        break
    with ThreadPoolExecutor(max_workers=_HISTORY_WORKERS) as pool:
        histories = list(pool.map(lambda arn: _history(sfn, arn), arns))
    runs = [timeline(events) for events in histories if events is not None]
    return aggregate(graph, runs, listed=len(arns), without_history=len(arns) - len(runs), capped=capped)
