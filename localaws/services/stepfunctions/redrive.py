"""RedriveExecution, which moto 5.2.5 lacks (HTTP 500), as AWS documents it for this kind of workflow: a FAILED, ABORTED
or TIMED_OUT Standard execution continues from its unsuccessful step (the last top-level state entered), with the input
that step had, under the same ARN; its history keeps the earlier attempts' events and goes on after an
ExecutionRedriven event. Steps that succeeded are not run again. continue_from() is how an execution goes on from a
state (a redrive, or a continuation after a restart).

Limits: top-level states only (no Map or Parallel iteration redrive), `$$.Execution.Input` in the redriven part is the
step's input, and the 14-day and redrive-count limits are not enforced.
"""

from __future__ import annotations

import copy
import datetime
import functools
import json
import threading
from typing import Any

from localaws.services.patches import Correction, Kind
from localaws.services.stepfunctions.finished import CompactExecution, RestoredExecution
from localaws.services.stepfunctions.records import record

redrive_executions = Correction(
    "Step Functions RedriveExecution",
    Kind.FIX,
    "moto 5.2.5 answers RedriveExecution with HTTP 500: it is answered as AWS does, and GetExecutionHistory shows the "
    "earlier attempts' events before the ExecutionRedriven event.",
)
_RESPONSE = "moto.stepfunctions.responses:StepFunctionResponse"
_EXECUTION = "moto.stepfunctions.parser.backend.execution:Execution"
redrive_executions.expects("moto.stepfunctions.parser.api:HistoryEventType.ExecutionRedriven")
for _method in (
    "get_start_execution_details",
    "_get_start_aws_execution_details",
    "_get_start_execution_worker_comm",
    "get_start_state_machine_details",
):
    redrive_executions.expects(f"{_EXECUTION}.{_method}", params=["self"])
redrive_executions.expects(
    "moto.stepfunctions.parser.backend.execution_worker:ExecutionWorker.__init__",
    params=["self", "evaluation_details", "exec_comm", "cloud_watch_logging_session", "activity_store",
            "mock_test_case"],
)  # fmt: skip


_REDRIVABLE = {"FAILED", "ABORTED", "TIMED_OUT"}
_lock = threading.Lock()  # one execution goes on from a state at a time


def _not_redrivable(message: str) -> Exception:
    from moto.core.exceptions import AWSError

    class ExecutionNotRedrivable(AWSError):
        TYPE = "ExecutionNotRedrivable"
        STATUS = 400

    return ExecutionNotRedrivable(message)


# Refused once moto implements redrive_execution itself: then this correction is to be dropped.
@redrive_executions.adds(f"{_RESPONSE}.redrive_execution")
def redrive_execution(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.stepfunctions.parser.backend.execution import Execution

    execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
    if isinstance(execution, RestoredExecution):
        raise _not_redrivable(
            f"{execution.exec_arn} finished before the local AWS restarted; it keeps its history, but the local AWS "
            "redrives only executions that finished since its start."
        )
    if isinstance(execution, CompactExecution):
        raise _not_redrivable(
            f"{execution.exec_arn} finished before the newest ORDERS_LOCAL_MAX_FINISHED_EXECUTIONS, whose history the "
            "local AWS keeps: without its history it cannot be redriven."
        )
    if not isinstance(execution, Execution):
        raise _not_redrivable("Redrive needs the executing Step Functions backend (execute_state_machine).")
    return ActionResult({"redriveDate": redrive(execution)})


@redrive_executions.replaces(f"{_EXECUTION}.to_history_output", params=["self"])
def to_history_output(original: Any, self: Any) -> Any:
    output = original(self)
    prior = record(self).prior_events
    if not prior:
        return output
    offset = len(prior)
    later = []
    for event in output["events"]:
        event = dict(event)
        event["id"] = event["id"] + offset
        if event.get("previousEventId"):
            event["previousEventId"] = event["previousEventId"] + offset
        else:
            event["previousEventId"] = offset
        later.append(event)
    output["events"] = [*prior, *later]
    return output


def redrive(execution: Any) -> datetime.datetime:
    """Continue a failed, aborted or timed-out parser execution from its unsuccessful step; return the redrive date."""
    with _lock:
        status = getattr(execution.exec_status, "value", execution.exec_status)
        if status not in _REDRIVABLE:
            raise _not_redrivable(
                f"Execution {execution.exec_arn} is {status}: "
                "only FAILED, ABORTED or TIMED_OUT executions can be redriven."
            )
        events = copy.deepcopy(execution.to_history_output()["events"])
        definition = json.loads(execution.state_machine.definition)
        entered = [e["stateEnteredEventDetails"] for e in events if e["type"].endswith("StateEntered")]
        if entered and entered[-1]["name"] not in definition.get("States", {}):
            raise _not_redrivable(f"Execution {execution.exec_arn} has no top-level state to continue from.")
        # Stopped before its first state: it starts over, with its own input.
        details = entered[-1] if entered else {"name": definition["StartAt"], "input": json.dumps(execution.input_data)}
        return _continue(execution, details["name"], json.loads(details.get("input") or "{}"), events)


def continue_from(execution: Any, state: str, state_input: Any, prior_events: list[Any]) -> datetime.datetime:
    """Run the execution on from state with state_input, under its ARN, as a redrive (its history: prior_events, then
    the ExecutionRedriven event and what follows); return the redrive date."""
    with _lock:
        return _continue(execution, state, state_input, prior_events)


def _continue(execution: Any, state: str, state_input: Any, prior_events: list[Any]) -> datetime.datetime:
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.asl.eval.evaluation_details import EvaluationDetails, ExecutionDetails

    definition = json.loads(execution.state_machine.definition)
    definition["StartAt"] = state
    kept = record(execution)
    count = kept.redrive_count + 1
    redrive_date = datetime.datetime.now(tz=datetime.UTC)

    original = execution.get_start_execution_details()
    worker = _redrive_worker_class()(
        evaluation_details=EvaluationDetails(
            aws_execution_details=execution._get_start_aws_execution_details(),
            execution_details=ExecutionDetails(
                arn=original.arn,
                name=original.name,
                role_arn=original.role_arn,
                inpt=original.inpt,
                start_time=original.start_time,
            ),
            state_machine_details=_state_machine_details(execution, json.dumps(definition)),
        ),
        exec_comm=execution._get_start_execution_worker_comm(),
        cloud_watch_logging_session=execution._cloud_watch_logging_session,
        activity_store=execution._activity_store,
    )
    worker.redrive_input = state_input
    worker.redrive_count = count
    kept.prior_events = prior_events
    kept.redrive_count = count
    kept.finished_reported = False  # the redriven attempt reports its own end
    kept.stop_request = None  # an earlier stop does not abort the redriven attempt
    execution.stop_date = None
    execution.error = None
    execution.cause = None
    execution.output = None
    execution.exec_worker = worker
    execution.exec_status = ExecutionStatus.RUNNING
    worker.start()
    return redrive_date


def _state_machine_details(execution: Any, definition: str) -> Any:
    from moto.stepfunctions.parser.asl.eval.evaluation_details import StateMachineDetails

    current = execution.get_start_state_machine_details()
    return StateMachineDetails(arn=current.arn, name=current.name, typ=current.typ, definition=definition)


@functools.cache
def _redrive_worker_class() -> type:
    from moto.stepfunctions.parser.api import ExecutionRedrivenEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    class RedriveExecutionWorker(ExecutionWorker):
        """Runs the rest of a redriven execution: starts at the failed step with that step's input."""

        redrive_input: Any = None
        redrive_count: int = 1

        def _get_evaluation_environment(self) -> Any:
            env = super()._get_evaluation_environment()
            env.states.reset(input_value=self.redrive_input)
            return env

        def _execution_logic(self) -> None:
            program = self._get_evaluation_entrypoint()
            self.env = self._get_evaluation_environment()
            self.env.event_manager.add_event(
                context=self.env.event_history_context,
                event_type=HistoryEventType.ExecutionRedriven,
                event_details=EventDetails(
                    executionRedrivenEventDetails=ExecutionRedrivenEventDetails(redriveCount=self.redrive_count)
                ),
                update_source_event_id=False,
            )
            program.eval(self.env)
            self._execution_communication.terminated()

    return RedriveExecutionWorker
