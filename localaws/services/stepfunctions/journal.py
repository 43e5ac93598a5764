"""Executions journaled: each when it starts (on disk before StartExecution answers), as it enters each top-level state
(its name and input: where a redrive would continue), and when it ends or is stopped (its output and its history,
packed; dropped again when the execution is compacted). After a restart a finished one comes back with its detail or
as a compact record; a running one continues from its last entered state, as a redrive does. What the journal keeps
is bounded as the executions in memory are (prune)."""

from __future__ import annotations

import datetime
import json
import logging
import time
import types
from collections.abc import Iterable
from typing import Any

from localaws.journal import Journal, Tables, dumps
from localaws.services.patches import Correction, Kind
from localaws.services.recording import Recording
from localaws.services.stepfunctions import events, redrive
from localaws.services.stepfunctions.finished import (
    CompactExecution,
    RestoredExecution,
    pack_history,
    seconds,
    unpack_history,
)
from localaws.services.stepfunctions.records import record

_log = logging.getLogger(__name__)
RESTARTED_ERROR = "LocalAws.Restarted"
TABLES = Tables(
    """CREATE TABLE IF NOT EXISTS executions (
    arn TEXT PRIMARY KEY, state_machine_arn TEXT NOT NULL, name TEXT NOT NULL, input TEXT NOT NULL,
    start REAL NOT NULL, state TEXT, state_input TEXT, status TEXT NOT NULL, stop REAL, error TEXT, cause TEXT,
    output TEXT, history BLOB);
CREATE INDEX IF NOT EXISTS executions_by_start ON executions (start);""",
    added_columns=(("executions", "output", "TEXT"), ("executions", "history", "BLOB")),
)
recording = Recording()


def _journaled(execution: Any) -> bool:
    # StartSyncExecution answers only when it has ended: nothing to continue after a restart.
    return recording.on and type(execution).__name__ != "SyncExecution"


@events.started.subscribe
def record_started(execution: Any) -> None:
    """Journal a started execution, on disk before StartExecution answers."""
    if not _journaled(execution):
        return
    row = (
        execution.exec_arn,
        execution.state_machine_arn,
        execution.name,
        execution.execution_input,
        seconds(execution.start_date),
    )
    recording.write(
        [
            (
                "INSERT OR REPLACE INTO executions (arn, state_machine_arn, name, input, start, status) "
                "VALUES (?, ?, ?, ?, ?, 'RUNNING')",
                [row],
            )
        ]
    )
    recording.sync()


@events.finished.subscribe
def record_finished(execution: Any) -> None:
    """Journal an execution's outcome, output and history."""
    if not _journaled(execution):
        return
    output = execution.output
    if output is not None and not isinstance(output, str):
        output = json.dumps(output)  # as DescribeExecution answers it
    row = (
        execution.status,
        seconds(execution.stop_date),
        execution.error,
        execution.cause,
        output,
        pack_history(_history_json(execution)),
        execution.exec_arn,
    )
    recording.write(
        [
            (
                "UPDATE executions SET status = ?, stop = ?, error = ?, cause = ?, output = ?, history = ? "
                "WHERE arn = ?",
                [row],
            )
        ]
    )


@events.stopped.subscribe
def record_stopped(execution: Any) -> None:
    """Journal an execution StopExecution answers ABORTED, on disk before the answer: a restart must not continue it."""
    record_finished(execution)
    recording.sync()


@events.compacted.subscribe
def record_compacted(arns: list[str]) -> None:
    """Drop the output and history of executions compacted in memory."""
    if recording.on:
        recording.write([("UPDATE executions SET output = NULL, history = NULL WHERE arn = ?", [(a,) for a in arns])])


def _history_json(execution: Any) -> str:
    """The execution's history as JSON, without the deep copy GetExecutionHistory makes (~3 ms for 64 events)."""
    env = execution.exec_worker.env if execution.exec_worker is not None else None
    if env is None or record(execution).prior_events:  # not started, or redriven: rare, the general way
        return dumps(execution.to_history_output()["events"])
    manager = env.event_manager
    with manager._mutex:  # the lock moto's own reader takes
        return dumps(manager._history_event_list)


journal_executions = Correction(
    "Step Functions journal",
    Kind.HOOK,
    "Every execution is journaled: its start (on disk before StartExecution answers), each top-level state it enters "
    "with that state's input, and its end; after a restart the journal brings them back, running ones continued.",
)
_STATE = "moto.stepfunctions.parser.asl.component.state.state:CommonStateField"
journal_executions.expects(
    f"{_STATE}._eval_body", source=["stateEnteredEventDetails=self._get_state_entered_event_details(env=env)"]
)
journal_executions.expects("moto.stepfunctions.parser.asl.eval.environment:Environment.is_frame", params=["self"])
journal_executions.expects(
    "moto.stepfunctions.parser.asl.eval.event.event_manager:EventManager.get_event_history",
    source=["with self._mutex:", "self._history_event_list"],
)
journal_executions.expects(
    "moto.stepfunctions.parser.models:StepFunctionsParserBackend.start_execution",
    source=["id(state_machine.executions): []"],
)
# What restore() relies on to recreate a running execution the way StartExecution creates it.
journal_executions.expects(
    "moto.stepfunctions.parser.backend.execution:Execution.__init__",
    params=["self", "name", "sm_type", "role_arn", "exec_arn", "account_id", "region_name", "state_machine",
            "start_date", "cloud_watch_logging_session", "activity_store", "input_data", "trace_header"],
)  # fmt: skip


@journal_executions.replaces(f"{_STATE}._get_state_entered_event_details", params=["self", "env"])
def _get_state_entered_event_details(original: Any, self: Any, env: Any) -> Any:
    entered = original(self, env)
    if recording.on and not env.is_frame():  # frames run Map and Parallel branches: not top-level states
        arn = env.states.context_object.context_object_data["Execution"]["Id"]
        recording.write(
            [
                (
                    "UPDATE executions SET state = ?, state_input = ?, status = 'RUNNING', stop = NULL, "
                    "error = NULL, cause = NULL WHERE arn = ?",
                    [(entered["name"], entered["input"], arn)],
                )
            ]
        )
    return entered


def restore(journal: Journal) -> dict[str, int]:
    """Bring back the journaled executions: finished ones as compact records (with their detail while the journal has
    it), running ones continued from their last entered state (or failed, saying why); return how many of each."""
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    counts = {"finished": 0, "continued": 0, "failed": 0, "without_state_machine": 0}
    for row in journal.rows("SELECT * FROM executions ORDER BY start"):
        _, _, _, region, account, *_ = row["state_machine_arn"].split(":")
        try:
            machine = stepfunctions_parser_backends[account][region].describe_state_machine(row["state_machine_arn"])
        except Exception:
            counts["without_state_machine"] += 1
            continue
        if row["status"] != "RUNNING":
            compact = _compact(row, ExecutionStatus(row["status"]), row["stop"])
            if row["history"] is not None:
                compact = RestoredExecution(compact, row["input"], row["output"], row["history"])
            machine.executions.append(compact)
            counts["finished"] += 1
            continue
        why = _continue_restored(machine, row)
        if why is None:
            counts["continued"] += 1
            continue
        _log.warning("execution %s cannot go on after the restart: %s", row["arn"], why)
        stop = time.time()
        cause = f"The local AWS restarted while this execution was running, and it cannot continue: {why}"
        machine.executions.append(_compact(row, ExecutionStatus.FAILED, stop, RESTARTED_ERROR, cause))
        journal.write(
            [
                (
                    "UPDATE executions SET status = 'FAILED', stop = ?, error = ?, cause = ? WHERE arn = ?",
                    [(stop, RESTARTED_ERROR, cause, row["arn"])],
                )
            ]
        )
        counts["failed"] += 1
    if counts["without_state_machine"]:
        _log.warning(
            "%d journaled executions belong to state machines that no longer exist; not restored",
            counts["without_state_machine"],
        )
    return counts


def _compact(row: Any, status: Any, stop: float | None, error: str | None = None, cause: str | None = None) -> Any:
    return CompactExecution(
        types.SimpleNamespace(
            name=row["name"],
            exec_arn=row["arn"],
            state_machine_arn=row["state_machine_arn"],
            exec_status=status,
            start_date=datetime.datetime.fromtimestamp(row["start"], tz=datetime.UTC),
            stop_date=datetime.datetime.fromtimestamp(stop, tz=datetime.UTC) if stop is not None else None,
            error=error or row["error"],
            cause=cause or row["cause"],
        )
    )


def _continue_restored(machine: Any, row: Any) -> str | None:
    """Recreate a running execution under its ARN and continue it; return why it cannot, if it cannot."""
    import copy

    from moto.stepfunctions.parser.backend.execution import Execution

    definition = json.loads(machine.definition)
    state = row["state"] or definition["StartAt"]
    if state not in definition.get("States", {}):
        return f"its last state {state!r} is not a top-level state of {machine.arn} any more"
    # As moto's start_execution does: the execution runs on a snapshot of the machine, without its executions.
    clone = copy.deepcopy(machine, {id(machine.executions): [], id(machine.backend): machine.backend})
    execution = Execution(
        name=row["name"],
        sm_type=clone.sm_type,
        role_arn=clone.roleArn,
        exec_arn=row["arn"],
        account_id=machine.backend.account_id,
        region_name=machine.backend.region_name,
        state_machine=clone,
        start_date=datetime.datetime.fromtimestamp(row["start"], tz=datetime.UTC),
        cloud_watch_logging_session=None,
        activity_store={},
        input_data=row["input"],
    )
    record(execution).started_reported = True  # it started before the restart: not a new start
    machine.executions.append(execution)
    state_input = json.loads(row["state_input"]) if row["state"] else execution.input_data
    # The events of its attempt before the restart are not journaled (only a redriven one's earlier attempts are):
    # its history shows its start, then continues from the state it went on with.
    prior = unpack_history(row["history"]) if row["history"] is not None else [_started_event(execution)]
    redrive.continue_from(execution, state, state_input, prior)
    return None


def _started_event(execution: Any) -> dict[str, Any]:
    """The ExecutionStarted event moto's worker records, for an execution started before the restart."""
    from moto.core.utils import iso_8601_datetime_with_milliseconds

    return {
        "id": 1,
        "previousEventId": 0,
        "timestamp": iso_8601_datetime_with_milliseconds(execution.start_date),
        "type": "ExecutionStarted",
        "executionStartedEventDetails": {
            "input": execution.execution_input,
            "inputDetails": {"truncated": False},
            "roleArn": execution.role_arn,
        },
    }


def prune(journal: Journal, keep_records: int, keep_seconds: float, now: float | None = None) -> None:
    """Drop the finished executions beyond what the local AWS keeps (see compaction.compact_finished_executions):
    those that started more than keep_seconds before now, and all but the newest keep_records."""
    oldest = (time.time() if now is None else now) - keep_seconds
    statements: list[tuple[str, Iterable[Any]]] = [
        ("DELETE FROM executions WHERE status != 'RUNNING' AND start < ?", [(oldest,)])
    ]
    # Ranking every finished execution costs ~25 ms of CPU at 20,000: done only when there are too many.
    counted = journal.rows("SELECT count(*) FROM executions")
    if counted and counted[0][0] > keep_records:
        statements.append(
            (
                "DELETE FROM executions WHERE arn IN (SELECT arn FROM executions WHERE status != 'RUNNING' "
                "ORDER BY start DESC LIMIT -1 OFFSET ?)",
                [(keep_records,)],
            )
        )
    journal.write(statements)
