"""The workflow graph: the definition as nodes and edges, per-state status from real histories, window figures."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from backend import graph
from backend.executions import timeline
from backend.graph import EdgeKind, StateStatus

DATA = json.loads((Path(__file__).with_name("data") / "workflow_histories.json").read_text())
DEFINITION = json.loads((Path(__file__).resolve().parents[2] / "workflow.asl.json").read_text())


def history(label: str) -> list[dict[str, Any]]:
    """A history captured from the local AWS, with its timestamps as boto3 returns them."""
    return [event | {"timestamp": datetime.fromisoformat(event["timestamp"])} for event in DATA["histories"][label]]


def test_the_definition_becomes_its_states_and_every_kind_of_transition() -> None:
    workflow = graph.parse_definition(json.dumps(DEFINITION))
    assert workflow.names == list(DEFINITION["States"])
    assert {node.name: node.type for node in workflow.nodes}["PaymentApproved?"] == "Choice"
    edges = {(edge.source, edge.target): edge for edge in workflow.edges}
    assert edges[(graph.START, "ValidateOrder")].kind is EdgeKind.NEXT
    assert edges[("ValidateOrder", "ProcessPayment")].kind is EdgeKind.NEXT
    assert edges[("ValidateOrder", "NotifyRejected")].label == "catch OrderInvalid"
    assert edges[("ValidateOrder", "NotifyFailed")].label == "catch States.ALL"
    assert edges[("ProcessPayment", "NotifyFailed")].kind is EdgeKind.CATCH
    assert edges[("PaymentApproved?", "NotifyConfirmed")].label == '$.payment.status == "APPROVED"'
    assert edges[("PaymentApproved?", "NotifyDeclined")].kind is EdgeKind.DEFAULT
    ends = {edge.source for edge in workflow.edges if edge.target == graph.END}
    assert ends == {"OrderCompleted", "PaymentDeclined", "OrderRejected", "OrderFailed"}
    assert len(workflow.edges) == 1 + 6 + 2 + 3 + 4  # start, Next, choice and default, Catch, End
    assert all(edge.target in {*workflow.names, graph.END} for edge in workflow.edges)


def test_the_captured_definition_is_the_repository_one() -> None:
    assert DATA["definition"]["States"].keys() == DEFINITION["States"].keys()


def statuses(label: str) -> dict[str, str]:
    results = graph.state_results(graph.parse_definition(DATA["definition"]), history(label))
    return {name: result.text for name, result in results.items()}


def test_a_succeeded_order_reached_the_happy_path_only() -> None:
    assert statuses("ok") == {
        "ValidateOrder": "succeeded",
        "ProcessPayment": "succeeded",
        "PaymentApproved?": "succeeded",
        "NotifyConfirmed": "succeeded",
        "OrderCompleted": "succeeded",
        "NotifyDeclined": "not reached",
        "PaymentDeclined": "not reached",
        "NotifyRejected": "not reached",
        "OrderRejected": "not reached",
        "NotifyFailed": "not reached",
        "OrderFailed": "not reached",
    }


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("retry", {"ProcessPayment": "succeeded after 1 retry", "NotifyConfirmed": "succeeded"}),
        ("declined", {"NotifyDeclined": "succeeded", "PaymentDeclined": "failed", "NotifyConfirmed": "not reached"}),
        ("rejected", {"ValidateOrder": "caught", "NotifyRejected": "succeeded", "OrderRejected": "failed"}),
        (
            "failed",
            {"ProcessPayment": "caught after 2 retries", "NotifyFailed": "succeeded", "OrderFailed": "failed"},
        ),
    ],
)
def test_each_outcome_colours_the_states_it_went_through(label: str, expected: dict[str, str]) -> None:
    assert statuses(label).items() >= expected.items()


def test_a_running_execution_shows_its_current_state_as_running() -> None:
    events = history("ok")[:8]  # up to ProcessPayment's TaskScheduled
    results = graph.state_results(graph.parse_definition(DATA["definition"]), events)
    assert results["ValidateOrder"].status is StateStatus.SUCCEEDED
    assert results["ProcessPayment"].status is StateStatus.RUNNING
    assert results["NotifyConfirmed"].status is StateStatus.NOT_REACHED


def test_the_caught_state_keeps_its_error() -> None:
    results = graph.state_results(graph.parse_definition(DATA["definition"]), history("failed"))
    assert results["ProcessPayment"].error == "PaymentGatewayTimeout"
    assert results["ProcessPayment"].retries == 2
    assert results["ProcessPayment"].duration_ms == pytest.approx(4358, abs=1)


def test_the_aggregate_counts_entered_failed_retried_and_durations() -> None:
    workflow = graph.parse_definition(DATA["definition"])
    runs = [timeline(history(label)) for label in ("ok", "declined", "retry", "rejected", "failed")]
    report = graph.aggregate(workflow, runs, listed=6, without_history=1)
    stats = {state.name: state for state in report.states}
    assert (report.executions, report.listed, report.without_history) == (5, 6, 1)
    assert (stats["ValidateOrder"].entered, stats["ValidateOrder"].failed, stats["ValidateOrder"].retried) == (5, 1, 0)
    assert (stats["ProcessPayment"].entered, stats["ProcessPayment"].failed) == (4, 1)
    assert stats["ProcessPayment"].retried == 2  # the retry that succeeded and the one that was caught
    assert stats["NotifyConfirmed"].entered == 2
    assert stats["OrderFailed"].failed == 1
    durations = sorted(run.duration_ms for runs_ in runs for run in runs_ if run.name == "ValidateOrder")
    assert stats["ValidateOrder"].mean_ms == pytest.approx(sum(durations) / 5)
    assert stats["ValidateOrder"].p90_ms == durations[-1]  # nearest rank of 5 values
    assert stats["NotifyDeclined"].mean_ms is not None


def test_an_empty_aggregate_has_every_state_at_zero() -> None:
    report = graph.aggregate(graph.parse_definition(DATA["definition"]), [], listed=0)
    assert report.executions == 0
    assert all(state.entered == 0 and state.p90_ms is None for state in report.states)


def test_the_dot_source_colours_states_and_escapes_labels() -> None:
    definition = {
        "StartAt": 'A "quoted" \\N <b>x</b>',
        "States": {
            'A "quoted" \\N <b>x</b>': {"Type": "Task", "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }
    workflow = graph.parse_definition(definition)
    results = {"Done": graph.StateResult(name="Done", status=StateStatus.SUCCEEDED, retries=1)}
    source = graph.dot(workflow, results).source
    assert '\\"quoted\\"' in source
    assert "\\\\N" in source  # graphviz would otherwise put the node's name there
    assert "<<b>" not in source  # not an HTML label
    assert "succeeded after 1 retry" in source
    assert graph.STATUS_COLORS[StateStatus.SUCCEEDED] in source
    assert "not reached" in source


def test_the_aggregate_dot_shows_the_figures() -> None:
    workflow = graph.parse_definition(DATA["definition"])
    runs = [timeline(history("failed"))]
    report = graph.aggregate(workflow, runs, listed=1)
    source = graph.dot(workflow, stats={s.name: s for s in report.states}).source
    assert "entered 1 · failed 1 · retried 1" in source
    assert "p90" in source
