"""An execution's life as events other modules subscribe to (moto has none), and the hook on moto's execution worker
that publishes them:

- started: an execution started (on the StartExecution thread, before its worker runs: keep subscribers quick);
- ending: an attempt's outcome is set (status, stop date, error, cause): subscribers may still correct it;
- finished: an execution reached a terminal status (on its worker's thread; the request's for StartSyncExecution);
- stopped: StopExecution found it running and answers it ABORTED (on the request thread, before the answer);
- compacted: finished executions whose detail was dropped (their ARNs, once per compaction pass).

Each execution is reported started once, and finished once per attempt (a redrive is another attempt).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from localaws.services.patches import Correction, Kind
from localaws.services.stepfunctions.records import record
from localaws.services.stepfunctions.running import running_executions

_log = logging.getLogger(__name__)
T = TypeVar("T")


class Event(Generic[T]):
    """One kind of event: subscribers are called in the order they subscribed. An observer's failure (contained) is
    logged and changes nothing; a participant's (not contained) fails what published the event."""

    def __init__(self, name: str, *, contained: bool) -> None:
        self.name = name
        self.contained = contained
        self._subscribers: tuple[Callable[[T], None], ...] = ()

    def subscribe(self, subscriber: Callable[[T], None]) -> Callable[[T], None]:
        """Call subscriber(subject) on every event from now on; return it (usable as a decorator)."""
        self._subscribers = (*self._subscribers, subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Callable[[T], None]) -> None:
        """Stop calling subscriber (no error when it was not subscribed)."""
        self._subscribers = tuple(s for s in self._subscribers if s is not subscriber)

    def publish(self, subject: T) -> None:
        """Tell every subscriber."""
        for subscriber in self._subscribers:
            if not self.contained:
                subscriber(subject)
                continue
            try:
                subscriber(subject)
            except Exception:
                # A broken observer must never change the outcome of the execution it observes.
                _log.exception(
                    "execution-%s subscriber %r failed for %s",
                    self.name,
                    subscriber,
                    getattr(subject, "exec_arn", subject),
                )


started: Event[Any] = Event("started", contained=True)
ending: Event[Any] = Event("ending", contained=False)
finished: Event[Any] = Event("finished", contained=True)
stopped: Event[Any] = Event("stopped", contained=False)
compacted: Event[list[str]] = Event("compacted", contained=False)

execution_hooks = Correction(
    "Step Functions execution hooks",
    Kind.HOOK,
    "moto tells nobody when an execution starts or ends: the AWS/States metrics and the journal need to know. The "
    "worker's start and its end publish them, and a worker runs when the bound on running executions admits it.",
)
_EXECUTION = "moto.stepfunctions.parser.backend.execution"
_WORKER = "moto.stepfunctions.parser.backend.execution_worker"
execution_hooks.expects(f"{_EXECUTION}:BaseExecutionWorkerCommunication._reflect_execution_status")
execution_hooks.expects(f"{_EXECUTION}:Execution.start", source=["self.exec_worker.start()"])
execution_hooks.expects("moto.stepfunctions.parser.backend.test_state.execution:TestStateExecution")


def _observed(worker: Any) -> Any:
    """The execution a worker runs, None for a TestState run (not an execution: never listed; its communication
    skips the base terminated())."""
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
    from moto.stepfunctions.parser.backend.test_state.execution import TestStateExecution

    communication = getattr(worker, "_execution_communication", None)
    if not isinstance(communication, BaseExecutionWorkerCommunication):
        return None
    execution = communication.execution
    return None if isinstance(execution, TestStateExecution) else execution


def _report_start(worker: Any) -> None:
    # Hooked on the worker's start(), which Execution.start calls after setting exec_worker and RUNNING: subscribers
    # see a running execution and are done before the worker can end, also for StartSyncExecution's inline worker.
    execution = _observed(worker)
    if execution is not None and record(execution).claim_start():
        started.publish(execution)


@execution_hooks.replaces(
    f"{_WORKER}:ExecutionWorker.start", params=["self"], source=["Thread(target=self._execution_logic"]
)
def start(original: Any, self: Any) -> None:
    _report_start(self)
    running_executions.admit(self)  # in place of the original's thread of its own


@execution_hooks.replaces(f"{_WORKER}:SyncExecutionWorker.start", params=["self"])
def start_sync(original: Any, self: Any) -> None:
    _report_start(self)
    original(self)


@execution_hooks.replaces(
    f"{_EXECUTION}:BaseExecutionWorkerCommunication.terminated",
    params=["self"],
    source=["self._reflect_execution_status()"],
)
def terminated(original: Any, self: Any) -> None:
    execution = self.execution
    worker = getattr(execution, "exec_worker", None)
    if worker is not None and getattr(worker, "_execution_communication", self) is not self:
        return  # a stopped attempt ending after a redrive started the next one: not this attempt's end
    # The original (through the subclass's _reflect_execution_status) sets status, stop_date, error and cause; only
    # then is the execution observable as finished.
    original(self)
    ending.publish(execution)
    if record(execution).claim_finish():
        finished.publish(execution)
