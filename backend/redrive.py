"""DLQ redrive as SQS does it: a message move task from the DLQ to the orders queue, at a rate, cancellable; audited."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel

from backend import audit, aws
from backend.errors import BackendError, translated
from backend.identity import Caller, Role
from backend.queues import QueueRole, queue_name, queue_url

MAX_RATE = 500  # SQS's highest MaxNumberOfMessagesPerSecond
TaskStatus = Literal["RUNNING", "COMPLETED", "CANCELLING", "CANCELLED", "FAILED"]


class MoveTask(BaseModel):
    """One message move task from the DLQ, as ListMessageMoveTasks reports it."""

    handle: str | None = None  # only a running task has one: what cancelling it needs
    status: TaskStatus
    started_at: datetime
    moved: int
    to_move: int | None = None  # what the DLQ held when the task started
    rate: int | None = None  # messages per second; None: SQS's own pace
    destination: str  # the queue's name
    failure: str | None = None

    @property
    def running(self) -> bool:
        return self.status in ("RUNNING", "CANCELLING")


def _arn(sqs: Any, role: QueueRole) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url(role), AttributeNames=["QueueArn"])["Attributes"]
    return str(attributes["QueueArn"])


def _task(raw: dict[str, Any]) -> MoveTask:
    return MoveTask(
        handle=raw.get("TaskHandle"),
        status=raw["Status"],
        started_at=datetime.fromtimestamp(raw["StartedTimestamp"] / 1000, UTC),
        moved=raw.get("ApproximateNumberOfMessagesMoved", 0),
        to_move=raw.get("ApproximateNumberOfMessagesToMove"),
        rate=raw.get("MaxNumberOfMessagesPerSecond"),
        destination=raw.get("DestinationArn", "").rpartition(":")[2] or "each message's source queue",
        failure=raw.get("FailureReason"),
    )


@translated
def move_tasks() -> list[MoveTask]:
    """The DLQ's most recent move tasks (SQS keeps the last 10), newest first."""
    sqs = aws.client("sqs")
    answer = sqs.list_message_move_tasks(SourceArn=_arn(sqs, "dlq"), MaxResults=10)
    return [_task(raw) for raw in answer.get("Results", [])]


@translated
def start_redrive(caller: Caller, rate: int | None = None) -> str:
    """Start moving every DLQ message back to the orders queue, at most rate per second (None: SQS's pace); audited.

    Orders already run are not run twice: executions are named by order id. Returns the task's handle."""
    what = "Redriving the dead-letter queue"
    audit.require(caller, Role.OPERATOR, what, "redrive-dlq", "dlq")
    if rate is not None and not 1 <= rate <= MAX_RATE:
        raise BackendError(f"A redrive moves between 1 and {MAX_RATE} messages per second (asked for {rate}).")
    sqs = aws.client("sqs")
    source, destination = _arn(sqs, "dlq"), _arn(sqs, "orders")
    pace = f"{rate} per second" if rate else "at SQS's pace"
    detail = f"to {queue_name(queue_url('orders'))}, {pace}"
    with audit.audited(caller, "redrive-dlq", what, queue_name(queue_url("dlq")), detail=detail) as action:
        handle = sqs.start_message_move_task(
            SourceArn=source, DestinationArn=destination, **({"MaxNumberOfMessagesPerSecond": rate} if rate else {})
        )["TaskHandle"]
        # The newest task is this one (one runs at a time); one that is done already lists without its handle.
        listed = sqs.list_message_move_tasks(SourceArn=source, MaxResults=1).get("Results", [])
        to_move = (_task(listed[0]).to_move or 0) if listed else 0
        action.done(handle, to_move, f"{detail}: a task to move {to_move} started")
    return str(handle)


@translated
def cancel_redrive(handle: str, caller: Caller) -> int:
    """Cancel a running redrive; what it moved stays moved. Returns how many it had moved; audited."""
    what = "Cancelling the redrive"
    audit.require(caller, Role.OPERATOR, what, "cancel-redrive", "dlq")
    sqs = aws.client("sqs")
    with audit.audited(caller, "cancel-redrive", what, queue_name(queue_url("dlq"))) as action:
        moved = int(sqs.cancel_message_move_task(TaskHandle=handle).get("ApproximateNumberOfMessagesMoved", 0))
        action.done(moved, moved, f"cancelled after {moved} moved")
    return moved
