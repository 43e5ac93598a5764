"""What the local AWS keeps about an execution (and its worker) beside moto's own state: one typed record each,
reached by record(execution) and worker_record(worker)."""

from __future__ import annotations

import datetime
import threading
from dataclasses import dataclass
from typing import Any

_ATTRIBUTE = "_localaws_record"  # the one attribute a record takes in an execution's (or a worker's) __dict__
_claims = threading.Lock()


@dataclass(slots=True)
class ExecutionRecord:
    """The emulator's own state about one execution."""

    started_reported: bool = False  # its start was published (an execution continued after a restart counts so)
    finished_reported: bool = False  # its current attempt's end was published (a redrive clears it)
    # (error, cause) of the StopExecution that found it running; it ends ABORTED with them (a redrive clears it).
    stop_request: tuple[str | None, str | None] | None = None
    # The history of its attempts before the current one (a redrive's, or a continuation's after a restart).
    prior_events: list[dict[str, Any]] | None = None
    redrive_count: int = 0

    def claim_start(self) -> bool:
        """Whether the start is still to be published (then it counts as published)."""
        with _claims:
            first, self.started_reported = not self.started_reported, True
        return first

    def claim_finish(self) -> bool:
        """Whether the current attempt's end is still to be published (then it counts as published)."""
        with _claims:
            first, self.finished_reported = not self.finished_reported, True
        return first


@dataclass(slots=True)
class WorkerRecord:
    """The emulator's own state about one execution worker (one attempt of an execution)."""

    # A StopExecution that came before the worker had its evaluation environment: (stop date, error, cause).
    pending_stop: tuple[datetime.datetime, str | None, str | None] | None = None


def record(execution: Any) -> ExecutionRecord:
    """The record of an execution (moto's parser Execution), made on first use."""
    found = execution.__dict__.get(_ATTRIBUTE)
    if found is None:
        found = execution.__dict__.setdefault(_ATTRIBUTE, ExecutionRecord())
    return found


def worker_record(worker: Any) -> WorkerRecord:
    """The record of an execution worker, made on first use."""
    found = worker.__dict__.get(_ATTRIBUTE)
    if found is None:
        found = worker.__dict__.setdefault(_ATTRIBUTE, WorkerRecord())
    return found
