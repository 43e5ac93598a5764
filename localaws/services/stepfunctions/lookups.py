"""Finding and listing executions: each state machine's executions indexed by name, ListExecutions pages read newest
first without sorting (with tokens that stay valid as executions change), and its answer written as plain JSON."""

from __future__ import annotations

import datetime
import json
import math
import threading
from collections.abc import Iterator
from typing import Any

from localaws.services.patches import Correction, Kind
from localaws.services.stepfunctions.finished import CompactExecution, seconds


class IndexedExecutions(list[Any]):
    """A state machine's executions in start order, with an index by execution name, and how many of the oldest
    are compact records (settled: those change only by being dropped) with their oldest and newest start."""

    def __init__(self, executions: Any = ()) -> None:
        super().__init__(executions)
        self._lock = threading.Lock()
        self.by_name = {execution.name: execution for execution in self}
        self.unsettle()

    def append(self, execution: Any) -> None:
        with self._lock:
            super().append(execution)
            self.by_name[execution.name] = execution

    def __setitem__(self, index: Any, value: Any) -> None:
        with self._lock:
            removed = self[index] if isinstance(index, slice) else [self[index]]
            added = list(value) if isinstance(index, slice) else [value]
            super().__setitem__(index, added if isinstance(index, slice) else value)
            # Readers look names up without the lock: a name kept must never be missing, even for a moment.
            self.by_name.update((execution.name, execution) for execution in added)
            kept = {id(execution) for execution in added}
            for execution in removed:
                if id(execution) not in kept and self.by_name.get(execution.name) is execution:
                    del self.by_name[execution.name]

    def unsettle(self) -> None:
        """Count no execution as settled (before the oldest are dropped)."""
        self.settled, self.settled_oldest, self.settled_newest = 0, math.inf, -math.inf

    def settle(self) -> None:
        """Count the compact records that follow the settled ones."""
        while self.settled < len(self) and type(record := self[self.settled]) is CompactExecution:
            self.settled_oldest = min(self.settled_oldest, record.start_ts)
            self.settled_newest = max(self.settled_newest, record.start_ts)
            self.settled += 1

    def find(self, execution_arn: str) -> Any:
        """The execution with this ARN, or None."""
        execution = self.by_name.get(execution_arn.rsplit(":", 1)[-1])
        return execution if execution is not None and execution.execution_arn == execution_arn else None


execution_lookups = Correction(
    "Step Functions execution lookups",
    Kind.FIX,
    "moto finds an execution by scanning every execution of its state machine (DescribeExecution, StopExecution, the "
    "name check of StartExecution) and sorts them all for each ListExecutions page: the cost of every order grew with "
    "the history kept. Each state machine's executions (kept in start order) get an index by name.",
)
_MODELS = "moto.stepfunctions.models"
execution_lookups.expects(f"{_MODELS}:StateMachine.start_execution", source=["self.executions.append(execution)"])
execution_lookups.expects(
    "moto.stepfunctions.responses:StepFunctionResponse.list_executions",
    source=["results, next_token = self.stepfunction_backend.list_executions("],
)


@execution_lookups.replaces(
    f"{_MODELS}:StateMachineInstance.__init__", source=["self.executions: list[Execution] = []"]
)
def index_executions(original: Any, self: Any, *args: Any, **kwargs: Any) -> None:
    original(self, *args, **kwargs)
    self.executions = IndexedExecutions(self.executions)


@execution_lookups.replaces(
    f"{_MODELS}:StateMachine._handle_name_input_idempotency", params=["self", "name", "execution_input"]
)
def _handle_name_input_idempotency(original: Any, self: Any, name: str, execution_input: str) -> Any:
    execution = self.executions.by_name.get(name)
    if execution is None:
        return None
    if execution_input == execution.execution_input and execution.status == "RUNNING":
        return execution  # same name and input while it runs: the same execution, as on AWS
    from moto.stepfunctions.exceptions import ExecutionAlreadyExists

    raise ExecutionAlreadyExists("Execution Already Exists: '" + execution.execution_arn + "'")


def _does_not_exist(execution_arn: str) -> Exception:
    from moto.stepfunctions.exceptions import ExecutionDoesNotExist

    return ExecutionDoesNotExist("Execution Does Not Exist: '" + execution_arn + "'")


@execution_lookups.replaces(f"{_MODELS}:StateMachine.stop_execution", params=["self", "execution_arn"])
def stop_execution(original: Any, self: Any, execution_arn: str) -> Any:
    execution = self.executions.find(execution_arn)
    if execution is None:
        raise _does_not_exist(execution_arn)
    execution.stop(stop_date=datetime.datetime.now(tz=datetime.UTC), error="", cause="")
    return execution


@execution_lookups.replaces(f"{_MODELS}:StepFunctionBackend.describe_execution", params=["self", "execution_arn"])
def describe_execution(original: Any, self: Any, execution_arn: str) -> Any:
    self._validate_execution_arn(execution_arn)
    execution = self._get_state_machine_for_execution(execution_arn).executions.find(execution_arn)
    if execution is None:
        raise _does_not_exist(execution_arn)
    return execution


def _page_token(execution: Any, status_filter: str | None) -> str:
    """Where the next page starts: after this execution, for this status filter (a token that stays valid as
    executions change)."""
    # Not base64 JSON: botocore's paginator would take that for a token of its own and unpack it into parameters.
    return f"{status_filter or 'ALL'}:{seconds(execution.start_date):.6f}:{execution.name}"


def _resume_position(executions: IndexedExecutions, token: str, status_filter: str | None) -> int:
    """The list position just older than the token's execution (found by name, else by its start time); a token made
    for another status filter is refused, as Step Functions refuses it."""
    from moto.stepfunctions.exceptions import InvalidToken

    made_for, _, rest = token.partition(":")
    start_text, _, name = rest.partition(":")
    if made_for != (status_filter or "ALL"):
        raise InvalidToken("Input inconsistent with page token")
    try:
        start = float(start_text)
    except ValueError as exc:
        raise InvalidToken("the nextToken is not one ListExecutions gave") from exc
    execution = executions.by_name.get(name)
    if execution is not None:
        for position in range(len(executions) - 1, -1, -1):
            if executions[position] is execution:
                return position - 1
    # Pruned since: go on with the executions that started before it.
    position = len(executions) - 1
    while position >= 0 and seconds(executions[position].start_date) >= start:
        position -= 1
    return position


def _older(executions: IndexedExecutions, position: int, lowest: int) -> Iterator[Any]:
    for index in range(position, lowest - 1, -1):
        yield executions[index]


@execution_lookups.replaces(
    f"{_MODELS}:StepFunctionBackend.list_executions", params=["self", "state_machine_arn", "status_filter"]
)
def list_executions(
    original: Any,
    self: Any,
    state_machine_arn: str,
    status_filter: str | None = None,
    max_results: int | None = None,
    next_token: str | None = None,
) -> tuple[list[Any], str | None]:
    executions = self.describe_state_machine(state_machine_arn).executions
    start = len(executions) - 1
    if next_token:
        start = _resume_position(executions, next_token, status_filter)
    limit = max_results or 100
    page: list[Any] = []
    position = start
    # The settled executions are compact records of finished ones: none is RUNNING.
    lowest = executions.settled if status_filter == "RUNNING" else 0
    while position >= lowest and len(page) < limit:
        execution = executions[position]
        if not status_filter or execution.status == status_filter:
            page.append(execution)
        position -= 1
    more = any(not status_filter or e.status == status_filter for e in _older(executions, position, lowest))
    return page, (_page_token(page[-1], status_filter) if page and more else None)


list_answers = Correction(
    "Step Functions ListExecutions answers",
    Kind.FIX,
    "moto's generic serializer walks every item of a page against the API model (attribute pickers, shape lookups): "
    "35 ms of CPU for a page of a few hundred, which `--wait` and the operator pages ask for every second or so. The "
    "items are plain dicts of strings and times, so they are written as JSON directly, as the serializer writes them.",
)


def _epoch_ms(value: datetime.datetime) -> float:
    """A time as the JSON protocol writes it: seconds since the epoch, truncated to the millisecond (naive is UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return math.floor(value.timestamp() * 1000) / 1000


@list_answers.replaces(
    "moto.stepfunctions.responses:StepFunctionResponse.list_executions",
    params=["self"],
    source=['"startDate": execution.start_date', "return ActionResult(response)"],
)
def list_executions_answer(original: Any, self: Any) -> tuple[str, dict[str, str]]:
    result = original(self).result
    page: dict[str, Any] = {
        "executions": [
            {key: _epoch_ms(value) if isinstance(value, datetime.datetime) else value for key, value in item.items()}
            for item in result["executions"]
        ]
    }
    if result["nextToken"]:
        page["nextToken"] = result["nextToken"]
    return json.dumps(page), {"Content-Type": "application/x-amz-json-1.0"}
