"""StartMessageMoveTask, ListMessageMoveTasks and CancelMessageMoveTask on moto's SQS, in both of its protocols."""

from __future__ import annotations

import threading
from typing import Any

from localaws.services.patches import Correction, Kind
from localaws.services.sqs import movetasks
from localaws.services.sqs.journal import DEAD_LETTER_SOURCE

move_tasks = Correction(
    "SQS message move tasks",
    Kind.FIX,
    "moto 5.2.5 answers StartMessageMoveTask, ListMessageMoveTasks and CancelMessageMoveTask with HTTP 500 (not "
    "implemented): they are answered as AWS documents them (a DLQ redrive moving messages in the background at the "
    "task's rate, journaled), authorised on the source queue's ARN as AWS names it (moto judged them against \"*\"), "
    "and each message moved to a dead-letter queue keeps the queue it left, where a redrive returns it by default.",
)
_RESPONSE = "moto.sqs.responses:SQSResponse"
_BACKEND = "moto.sqs.models:SQSBackend"
_MOVE_ACTIONS = {"StartMessageMoveTask", "ListMessageMoveTasks", "CancelMessageMoveTask"}
_ARN_FORMAT = "arn:<partition>:<service>:<region>:<account-id>:<resource-id>"
_MAX_RATE, _MAX_RESULTS = 500, 10


def _invalid(message: str) -> Exception:
    from moto.sqs.exceptions import InvalidParameterValue

    return InvalidParameterValue(message)


def _not_found(message: str) -> Exception:
    from moto.sqs.exceptions import SQSException

    return SQSException("ResourceNotFoundException", message)


def _required(response: Any, name: str) -> Any:
    from moto.sqs.exceptions import MissingParameter

    value = response._get_param(name)
    if value in (None, ""):
        raise MissingParameter(name)
    return value


def _existing(arn: Any, parameter: str) -> Any:
    """The queue an ARN parameter names, or AWS's error for a malformed ARN or a queue that does not exist."""
    if not movetasks.is_arn(arn):
        raise _invalid(f"You must use this format to specify the {parameter}: {_ARN_FORMAT}")
    found = movetasks.queue_by_arn(arn)
    if found is None:
        raise _not_found(f"The resource that you specified for the {parameter} parameter doesn't exist.")
    return found[1]


def _in_range(value: Any, parameter: str, highest: int) -> None:
    if value is not None and not (isinstance(value, int) and 1 <= value <= highest):
        raise _invalid(
            f"Value for parameter {parameter} is invalid. Reason: You must enter a number that's between 1 and "
            f"{highest}."
        )


# AWS's query protocol wraps each answer in <Operation>Result and names each listed task ListMessageMoveTasksResultEntry
# (SQS's query model did); moto's copy of the JSON model names neither for these operations, so its XML said
# <StartMessageMoveTaskResultResult>.
_QUERY_ENTRY = "ListMessageMoveTasksResultEntry"


def _sqs_model() -> dict[str, Any]:
    from moto.core.utils import get_service_model

    return get_service_model("sqs")._service_description  # type: ignore[no-any-return]


def _query_names_in_place() -> bool:
    model = _sqs_model()
    results = model["shapes"]["ListMessageMoveTasksResult"]["members"]["Results"]
    wrapped = all(model["operations"][op]["output"].get("resultWrapper") == f"{op}Result" for op in _MOVE_ACTIONS)
    return wrapped and results.get("locationNameForQueryCompatibility") == _QUERY_ENTRY


@move_tasks.performs(
    "SQS query protocol names of the move task operations (moto's SQS service model)", _query_names_in_place
)
def query_names() -> None:
    """Name the move task operations' XML as SQS's query protocol does, in moto's (cached) SQS model."""
    model = _sqs_model()
    for op in _MOVE_ACTIONS:
        model["operations"][op]["output"]["resultWrapper"] = f"{op}Result"
    model["shapes"]["ListMessageMoveTasksResult"]["members"]["Results"]["locationNameForQueryCompatibility"] = (
        _QUERY_ENTRY
    )


# AWS answers ResourceNotFoundException with HTTP 404 (as recorded against SQS); moto's model gives it no status, so
# moto said 400. Only these operations raise it in SQS.
_NOT_FOUND_ERROR = {"code": "ResourceNotFoundException", "httpStatusCode": 404, "senderFault": True}


def _not_found_status_in_place() -> bool:
    return _sqs_model()["shapes"]["ResourceNotFoundException"].get("error") == _NOT_FOUND_ERROR


@move_tasks.performs(
    "SQS ResourceNotFoundException's HTTP status (moto's SQS service model)", _not_found_status_in_place
)
def not_found_status() -> None:
    """Answer ResourceNotFoundException with AWS's HTTP 404, in moto's (cached) SQS model."""
    _sqs_model()["shapes"]["ResourceNotFoundException"]["error"] = dict(_NOT_FOUND_ERROR)


# Refused once moto implements the operations itself: then this correction is to be dropped.
@move_tasks.adds(f"{_RESPONSE}.start_message_move_task")
def start_message_move_task(self: Any) -> Any:
    from moto.core.responses import ActionResult

    source_arn = _required(self, "SourceArn")
    destination_arn = self._get_param("DestinationArn") or None
    rate = self._get_param("MaxNumberOfMessagesPerSecond")
    _in_range(rate, "MaxNumberOfMessagesPerSecond", _MAX_RATE)
    source = _existing(source_arn, "SourceArn")
    if not movetasks.dead_letter_sources(source_arn):
        raise _invalid("Source queue must be configured as a Dead Letter Queue.")
    if destination_arn is not None:
        destination = _existing(destination_arn, "DestinationArn")
        if destination_arn == source_arn:
            raise _invalid("Source queue arn and destination queue arn cannot be the same.")
        if destination.fifo_queue != source.fifo_queue:
            raise _invalid("The destination queue must be of the same type as the source queue (standard or FIFO).")
    try:
        task = movetasks.tasks.start(source_arn, destination_arn, rate, source.approximate_number_of_messages)
    except movetasks.TaskRunning:
        raise _invalid(
            "There is already a task running. Only one active task is allowed for a source queue arn at a given time."
        ) from None
    return ActionResult({"TaskHandle": task.handle})


@move_tasks.adds(f"{_RESPONSE}.list_message_move_tasks")
def list_message_move_tasks(self: Any) -> Any:
    from moto.core.responses import ActionResult

    source_arn = _required(self, "SourceArn")
    limit = self._get_param("MaxResults")
    _in_range(limit, "MaxResults", _MAX_RESULTS)
    _existing(source_arn, "SourceArn")
    return ActionResult({"Results": [task.entry() for task in movetasks.tasks.listed(source_arn, limit or 1)]})


@move_tasks.adds(f"{_RESPONSE}.cancel_message_move_task")
def cancel_message_move_task(self: Any) -> Any:
    from moto.core.responses import ActionResult

    try:
        task_id, source_arn = movetasks.decode_handle(_required(self, "TaskHandle"))
    except ValueError:
        raise _invalid("Value for parameter TaskHandle is invalid.") from None
    _existing(source_arn, "SourceArn")
    task = movetasks.tasks.get(task_id)
    if task is None or task.source_arn != source_arn:  # a handle naming another queue's task: IAM judged that queue
        raise _not_found("Task does not exist.")
    try:
        moved = movetasks.tasks.cancel(task)
    except movetasks.NotRunning as status:
        # AWS documents that only a RUNNING task can be cancelled but no recorded answer says how it refuses the
        # others: the code is that of its other refusals of a value, the message ours.
        raise _invalid(f"Only a RUNNING task can be cancelled; this one is {status}.") from None
    return ActionResult({"ApproximateNumberOfMessagesMoved": moved})


@move_tasks.replaces(f"{_RESPONSE}._determine_resource", params=["self"], source=["_get_queue_name"])
def determine_resource(original: Any, self: Any) -> str:
    """The queue IAM judges the request on: a move task's source queue (moto found none for these, and said "*")."""
    action = self._get_action()
    if action not in _MOVE_ACTIONS:
        return str(original(self))
    if action == "CancelMessageMoveTask":
        try:
            arn = movetasks.decode_handle(self._get_param("TaskHandle") or "")[1]
        except ValueError:
            return "*"
    else:
        arn = self._get_param("SourceArn")
    return arn if movetasks.is_arn(arn) else "*"


_receiving = threading.local()  # the queue this thread's ReceiveMessage reads, which moves messages to its DLQ


@move_tasks.replaces(
    f"{_BACKEND}.receive_message",
    params=["self", "queue_name", "count", "wait_seconds_timeout", "visibility_timeout", "message_attribute_names"],
    source=["queue.dead_letter_queue.add_message(message)"],
)
def receive_message(original: Any, self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
    outer = getattr(_receiving, "queue", None)
    _receiving.queue = self.queues.get(queue_name)
    try:
        return original(self, queue_name, *args, **kwargs)
    finally:
        _receiving.queue = outer


@move_tasks.replaces("moto.sqs.models:Queue.add_message", params=["self", "message"])
def add_message(original: Any, self: Any, message: Any) -> None:
    receiving = getattr(_receiving, "queue", None)
    if receiving is not None and receiving is not self and receiving.dead_letter_queue is self:
        setattr(message, DEAD_LETTER_SOURCE, receiving.queue_arn)
    original(self, message)


CORRECTIONS = (move_tasks,)
