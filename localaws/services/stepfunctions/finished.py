"""What the local AWS keeps of a finished execution without moto's execution and worker: a compact record of its
outcome (CompactExecution), or one brought back from the journal with its detail (RestoredExecution); and the packed
form histories are kept in."""

from __future__ import annotations

import datetime
import json
import zlib
from typing import Any


def seconds(date: Any) -> float:
    """A start or stop date as epoch seconds (0 when there is none)."""
    if isinstance(date, datetime.datetime):
        if date.tzinfo is None:  # the non-executing backend stores naive UTC
            date = date.replace(tzinfo=datetime.UTC)
        return date.timestamp()
    return 0.0


def is_finished(execution: Any) -> bool:
    """Whether an execution (of either backend) reached a terminal status."""
    # Parser executions keep an ExecutionStatus (None before start); the plain backend keeps a str.
    status = getattr(execution, "exec_status", None) if hasattr(execution, "exec_status") else execution.status
    return status is not None and str(getattr(status, "value", status)) != "RUNNING"


def pack_history(events_json: str) -> bytes:
    """A history (its events as JSON) as the journal and RestoredExecution keep it."""
    # Level 1: a history (~26 KB of JSON for 64 events) shrinks 10 to 20 times in under 0.1 ms.
    return zlib.compress(events_json.encode(), 1)


def unpack_history(packed: bytes) -> list[dict[str, Any]]:
    """The events of a packed history."""
    return json.loads(zlib.decompress(packed))


class CompactExecution:
    """What remains of a finished execution once its detail is dropped: enough to list and describe it."""

    __slots__ = (
        "cause",
        "error",
        "exec_arn",
        "exec_status",
        "name",
        "start_date",
        "start_ts",
        "state_machine_arn",
        "stop_date",
    )
    compacted = True
    execution_input = output = None  # dropped with the detail; DescribeExecution says so (inputDetails)
    input_details = output_details = {"included": False}  # noqa: RUF012 - shared, never changed

    def __init__(self, execution: Any) -> None:
        self.name = execution.name
        self.exec_arn = execution.exec_arn
        self.state_machine_arn = execution.state_machine_arn
        self.exec_status = execution.exec_status
        self.start_date = execution.start_date
        self.start_ts = seconds(execution.start_date)
        self.stop_date = execution.stop_date
        self.error = execution.error
        self.cause = execution.cause

    @property
    def execution_arn(self) -> str:
        return self.exec_arn

    @property
    def status(self) -> str:
        return str(self.exec_status.value)

    def stop(self, stop_date: Any, error: Any, cause: Any) -> None:
        return  # finished: a stop changes nothing, as on AWS

    def to_history_output(self) -> Any:
        from moto.core.exceptions import AWSError

        class HistoryNotKept(AWSError):
            TYPE = "ResourceNotFound"
            STATUS = 400

        raise HistoryNotKept(
            f"The local AWS keeps the history of the newest finished executions only "
            f"(ORDERS_LOCAL_MAX_FINISHED_EXECUTIONS); {self.exec_arn} finished earlier and keeps its outcome only."
        )


class RestoredExecution(CompactExecution):
    """A finished execution with full detail brought back from the journal: input, output and its history."""

    __slots__ = ("_history", "execution_input", "output")
    input_details = output_details = {"included": True}  # noqa: RUF012 - shared, never changed

    def __init__(self, execution: Any, execution_input: str, output: str | None, history: bytes) -> None:
        super().__init__(execution)
        self.execution_input, self.output, self._history = execution_input, output, history

    def to_history_output(self) -> Any:
        return {"events": unpack_history(self._history)}
