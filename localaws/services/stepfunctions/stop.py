"""StopExecution as on AWS: a stopped execution is ABORTED, with the error and cause StopExecution was given, as soon
as StopExecution answers, and also when the stop comes before its program started."""

from __future__ import annotations

import datetime
import threading
from typing import Any

from localaws.services.patches import Correction, Kind
from localaws.services.stepfunctions import events
from localaws.services.stepfunctions.records import record, worker_record

stop_aborts = Correction(
    "Step Functions StopExecution aborts",
    Kind.FIX,
    "On AWS a stopped execution is ABORTED, with the error and cause StopExecution was given; moto drops both, and a "
    "stop that lands during a task's retry back-off ends the execution FAILED with the task's error instead. A stop "
    "that comes before moto's worker made its environment (right after StartExecution or RedriveExecution) failed on "
    "env None and the execution ran on; and a program stopped before its first state had no ExecutionAborted event.",
)
_EXECUTION = "moto.stepfunctions.parser.backend.execution:Execution"
_WORKER = "moto.stepfunctions.parser.backend.execution_worker:ExecutionWorker"
_PROGRAM = "moto.stepfunctions.parser.asl.component.program.program:Program"
stop_aborts.expects(f"{_WORKER}._execution_logic", source=["self.env = self._get_evaluation_environment()"])
stop_aborts.expects(f"{_PROGRAM}._eval_body", source=["ExecutionAborted"])

_requests: dict[str, tuple[str | None, str | None]] = {}  # execution ARN -> (error, cause) of a StopExecution under way
_worker_env_lock = threading.Lock()


def abort_if_stopped(execution: Any) -> None:
    """Make an execution that a StopExecution found running ABORTED, with that stop's error and cause."""
    request = record(execution).stop_request
    if request is None:
        return
    from moto.stepfunctions.parser.api import ExecutionStatus

    execution.exec_status = ExecutionStatus.ABORTED
    execution.error, execution.cause = request


events.ending.subscribe(abort_if_stopped)  # a stopped attempt ends ABORTED, whatever its program ended with


@stop_aborts.replaces("moto.stepfunctions.responses:StepFunctionResponse.stop_execution", params=["self"])
def stop_execution(original: Any, self: Any) -> Any:
    arn = self._get_param("executionArn")
    _requests[arn] = (self._get_param("error"), self._get_param("cause"))
    try:
        return original(self)
    finally:
        _requests.pop(arn, None)


@stop_aborts.replaces(f"{_EXECUTION}.stop", params=["self", "stop_date", "error", "cause"])
def stop(original: Any, self: Any, stop_date: datetime.datetime, error: str | None, cause: str | None) -> None:
    kept = record(self)
    # Recorded before the worker stops, so whichever thread ends the execution sees the request; a finished execution
    # is not changed by a stop.
    if self.exec_status is None or self.exec_status.value == "RUNNING":
        kept.stop_request = _requests.get(self.exec_arn, (error or None, cause or None))
    original(self, stop_date, error, cause)
    if self.exec_status is not None and self.exec_status.value == "RUNNING" and kept.stop_request is not None:
        # moto's worker thread ends the execution a moment later; on AWS it is ABORTED when StopExecution answers
        # (a RedriveExecution right after must find it redrivable).
        self.stop_date = stop_date
    abort_if_stopped(self)
    if kept.stop_request is not None:
        events.stopped.publish(self)  # answered ABORTED: a restart must not continue it


# moto's worker creates its evaluation environment on its own thread; a StopExecution that arrives before (right after
# StartExecution or RedriveExecution) is kept and applied as soon as the environment exists.


@stop_aborts.replaces(f"{_WORKER}.stop", params=["self", "stop_date", "error", "cause"])
def stop_worker(original: Any, self: Any, stop_date: datetime.datetime, error: str | None, cause: str | None) -> None:
    with _worker_env_lock:
        if self.env is None:
            worker_record(self).pending_stop = (stop_date, error, cause)
            return
    original(self, stop_date, error, cause)


@stop_aborts.replaces(f"{_WORKER}._get_evaluation_environment", params=["self"])
def _get_evaluation_environment(original: Any, self: Any) -> Any:
    env = original(self)
    kept = worker_record(self)
    with _worker_env_lock:
        self.env = env
        pending, kept.pending_stop = kept.pending_stop, None
    if pending:
        stop_date, error, cause = pending
        env.set_stop(stop_date=stop_date, cause=cause, error=error)
    return env


@stop_aborts.replaces(f"{_PROGRAM}.eval", params=["self", "env"])
def eval_program(original: Any, self: Any, env: Any) -> None:
    # A program stopped before its first state is ended by moto without the ExecutionAborted event that closes every
    # stopped execution's history on AWS; it is added then.
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

    original(self, env)
    if env.is_frame() or not isinstance(env.program_state(), ProgramStopped):
        return
    events_so_far = env.event_manager.get_event_history()
    if not events_so_far or events_so_far[-1]["type"] != "ExecutionAborted":
        self._eval_body(env)  # not running any more: it only records how the program ended
