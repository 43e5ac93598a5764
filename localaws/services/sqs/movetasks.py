"""SQS message move tasks (DLQ redrive): each task's state, journaled, and the worker that moves its messages."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from localaws.journal import Journal, unacknowledged
from localaws.services.backends import iter_backends
from localaws.services.sqs.fixes import forget_receipt_handles
from localaws.services.sqs.journal import DEAD_LETTER_SOURCE, recording

_log = logging.getLogger(__name__)
RUNNING, COMPLETED, CANCELLING, CANCELLED, FAILED = "RUNNING", "COMPLETED", "CANCELLING", "CANCELLED", "FAILED"
NON_EXISTENT_QUEUE = "AWS.SimpleQueueService.NonExistentQueue"  # AWS's FailureReason when a queue is deleted
# AWS picks its own rate when MaxNumberOfMessagesPerSecond is left out ("system-optimised"); twice its highest
# custom rate keeps a deep DLQ quick to drain without one task holding the interpreter for long.
DEFAULT_RATE = 1_000
KEPT_SECONDS = 14 * 24 * 3600  # finished tasks listed this long (as SQS keeps its history)
KEPT_PER_SOURCE = 10  # ListMessageMoveTasks answers at most 10: older finished tasks are never seen again
_SHORTEST_WAIT, _IDLE_WAIT = 0.02, 1.0  # the worker's tick: rates are met to within 20 ms
_INSERT = (
    "INSERT OR REPLACE INTO move_tasks (task_id, source_arn, destination_arn, max_per_second, status, to_move, moved, "
    "started_ms, failure_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE = "UPDATE move_tasks SET status = ?, moved = ?, failure_reason = ? WHERE task_id = ?"


class TaskRunning(Exception):
    """The source queue has an active task already."""


class NotRunning(Exception):
    """The task is not RUNNING: it cannot be cancelled."""


class _Failed(Exception):
    """A move failed for a reason that ends the task (its FailureReason)."""


@dataclass
class MoveTask:
    """One message move task, as ListMessageMoveTasks describes it."""

    task_id: str
    source_arn: str
    destination_arn: str | None
    rate: int | None
    to_move: int
    started_ms: int
    status: str = RUNNING
    moved: int = 0
    failure_reason: str | None = None
    tokens: float = field(default=1.0, repr=False)  # messages it may move now: the first one at once
    refilled: float = field(default_factory=time.monotonic, repr=False)

    @property
    def handle(self) -> str:
        """The TaskHandle: base64 of the task id and source ARN in JSON, as AWS makes it."""
        return encode_handle(self.task_id, self.source_arn)

    def entry(self) -> dict[str, Any]:
        """The task as a ListMessageMoveTasksResultEntry: optional members only when AWS gives them."""
        entry: dict[str, Any] = {
            "SourceArn": self.source_arn,
            "Status": self.status,
            "ApproximateNumberOfMessagesMoved": self.moved,
            "ApproximateNumberOfMessagesToMove": self.to_move,
            "StartedTimestamp": self.started_ms,
        }
        if self.status == RUNNING:
            entry["TaskHandle"] = self.handle
        if self.destination_arn is not None:
            entry["DestinationArn"] = self.destination_arn
        if self.rate is not None:
            entry["MaxNumberOfMessagesPerSecond"] = self.rate
        if self.status == FAILED and self.failure_reason:
            entry["FailureReason"] = self.failure_reason
        return entry

    def row(self) -> tuple[Any, ...]:
        """The task as its journal row."""
        return (self.task_id, self.source_arn, self.destination_arn, self.rate, self.status, self.to_move,
                self.moved, self.started_ms, self.failure_reason)  # fmt: skip


def encode_handle(task_id: str, source_arn: str) -> str:
    """A TaskHandle for the task id and its source queue's ARN."""
    return base64.b64encode(
        json.dumps({"taskId": task_id, "sourceArn": source_arn}, separators=(",", ":")).encode()
    ).decode()


def decode_handle(handle: str) -> tuple[str, str]:
    """The task id and source ARN a TaskHandle holds; ValueError when it holds none."""
    try:
        document = json.loads(base64.b64decode(handle, validate=True))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError("not a task handle") from error
    if not isinstance(document, dict) or not all(isinstance(document.get(k), str) for k in ("taskId", "sourceArn")):
        raise ValueError("not a task handle")
    return document["taskId"], document["sourceArn"]


def is_arn(value: Any) -> bool:
    """Whether value has an ARN's form: arn:<partition>:<service>:<region>:<account-id>:<resource-id>."""
    return isinstance(value, str) and len(parts := value.split(":")) == 6 and parts[0] == "arn" and all(parts[1:])


def queue_by_arn(arn: str) -> tuple[Any, Any] | None:
    """The (backend, queue) an SQS queue ARN names, if that queue exists."""
    from moto.sqs.models import sqs_backends

    if not is_arn(arn) or arn.split(":")[2] != "sqs":
        return None
    _, _, _, region, account, name = arn.split(":")
    for backend in iter_backends(sqs_backends):
        if backend.account_id == account and backend.region_name == region and name in backend.queues:
            return backend, backend.queues[name]
    return None


def dead_letter_sources(dlq_arn: str) -> list[Any]:
    """The queues whose RedrivePolicy names dlq_arn as their dead-letter queue."""
    from moto.sqs.models import sqs_backends

    return [
        queue
        for backend in iter_backends(sqs_backends)
        for queue in list(backend.queues.values())
        if (queue.redrive_policy or {}).get("deadLetterTargetArn") == dlq_arn
    ]


class MoveTasks:
    """Every move task of the instance, and the one worker thread that moves their messages at their rates."""

    def __init__(self) -> None:
        self._tasks: dict[str, MoveTask] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._worker: threading.Thread | None = None
        self._closed = False

    def start(self, source_arn: str, destination_arn: str | None, rate: int | None, to_move: int) -> MoveTask:
        """Record a RUNNING task (on disk before it returns) and have it moving; TaskRunning if one is active."""
        with self._lock:
            if any(t.source_arn == source_arn and t.status in (RUNNING, CANCELLING) for t in self._tasks.values()):
                raise TaskRunning(source_arn)
            task = MoveTask(str(uuid.uuid4()), source_arn, destination_arn, rate, to_move, int(time.time() * 1000))
            self._tasks[task.task_id] = task
            recording.write([(_INSERT, [task.row()])])
        recording.sync()
        self.run_worker()
        return task

    def get(self, task_id: str) -> MoveTask | None:
        """The task of that id, if kept."""
        with self._lock:
            return self._tasks.get(task_id)

    def cancel(self, task: MoveTask) -> int:
        """Have a RUNNING task stop (CANCELLING, then CANCELLED); return how many it moved; NotRunning otherwise."""
        with self._lock:
            if task.status != RUNNING:
                raise NotRunning(task.status)
            self._set(task, CANCELLING)
            moved = task.moved
        recording.sync()  # acknowledged: a restart does not resume it
        self._wake.set()
        return moved

    def listed(self, source_arn: str, limit: int) -> list[MoveTask]:
        """The source queue's newest tasks, newest first, at most limit."""
        with self._lock:
            tasks = [task for task in reversed(self._tasks.values()) if task.source_arn == source_arn]
        # Stable: tasks started within the same millisecond stay newest first, as they were started.
        return sorted(tasks, key=lambda task: task.started_ms, reverse=True)[:limit]

    def restore(self, journal: Journal) -> int:
        """Put the journaled tasks back (a RUNNING one moves on once the worker runs); return how many."""
        restored = 0
        for row in journal.rows("SELECT * FROM move_tasks ORDER BY started_ms, rowid"):
            task = MoveTask(
                row["task_id"], row["source_arn"], row["destination_arn"], row["max_per_second"], row["to_move"],
                row["started_ms"], row["status"], row["moved"], row["failure_reason"],
            )  # fmt: skip
            with self._lock:
                self._tasks[task.task_id] = task
                if task.status == CANCELLING:  # cancelled before the stop: nothing more moves
                    self._set(task, CANCELLED)
            restored += 1
        return restored

    def prune(self, now: float) -> None:
        """Forget finished tasks older than KEPT_SECONDS, or beyond the newest KEPT_PER_SOURCE of their source."""
        with self._lock:
            by_source: dict[str, list[MoveTask]] = {}
            for task in sorted(self._tasks.values(), key=lambda t: t.started_ms, reverse=True):
                by_source.setdefault(task.source_arn, []).append(task)
            dropped = [
                task.task_id
                for tasks in by_source.values()
                for position, task in enumerate(tasks)
                if task.status in (COMPLETED, CANCELLED, FAILED)
                and (position >= KEPT_PER_SOURCE or task.started_ms < (now - KEPT_SECONDS) * 1000)
            ]
            for task_id in dropped:
                del self._tasks[task_id]
        if dropped:
            recording.write([("DELETE FROM move_tasks WHERE task_id = ?", [(task_id,) for task_id in dropped])])

    def run_worker(self) -> None:
        """Start the worker if it is not running (not once closed), or wake it."""
        with self._lock:
            if self._closed:
                return
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="sqs-move-tasks", daemon=True)
                self._worker.start()
        self._wake.set()

    def open(self) -> None:
        """Allow the worker to run again (the service started)."""
        with self._lock:
            self._closed = False

    def close(self) -> None:
        """Stop the worker, after the move it is making, and start no other."""
        with self._lock:
            self._closed = True
            worker, self._worker = self._worker, None
        self._wake.set()
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout=10)

    def forget(self) -> None:
        """Forget every task (moto's queues are gone; the journal keeps them for the next start)."""
        with self._lock:
            self._tasks.clear()

    def erase(self) -> None:
        """Forget every task, in the journal too: a reset's tasks are not resumed on the next start."""
        self.forget()
        # The stack makes its queues again at each start: a journaled RUNNING task would move messages once more.
        recording.write([("DELETE FROM move_tasks", [()])])
        recording.sync()

    def _work(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
            self._wake.clear()
            self._wake.wait(self.tick())

    def tick(self) -> float:
        """Move what each running task may move now; return the seconds until one may move again."""
        with self._lock:
            active = [task for task in self._tasks.values() if task.status in (RUNNING, CANCELLING)]
        waits = [_IDLE_WAIT]
        with unacknowledged():  # the journal commits these at once; no client waits for them
            for task in active:
                try:
                    waits.append(self._advance(task))
                except Exception as error:
                    _log.exception("message move task %s failed", task.task_id)
                    self._finish(task, FAILED, type(error).__name__)
        return max(_SHORTEST_WAIT, min(waits))

    def _advance(self, task: MoveTask) -> float:
        """Move what the task's rate allows now; return the seconds until it may move another."""
        rate = task.rate or DEFAULT_RATE
        now = time.monotonic()
        task.tokens = min(float(rate), task.tokens + (now - task.refilled) * rate)
        task.refilled = now
        moved_before = task.moved
        try:
            while self._still(task, RUNNING):
                if task.moved >= task.to_move:
                    self._finish(task, COMPLETED)
                    break
                if task.tokens < 1:
                    break
                if not self._move_one(task):
                    self._finish(task, COMPLETED)
                    break
                task.tokens -= 1
                with self._lock:
                    task.moved += 1
        except _Failed as failure:
            self._finish(task, FAILED, str(failure))
        if self._still(task, CANCELLING):
            self._finish(task, CANCELLED)
        elif task.moved != moved_before and self._still(task, RUNNING):
            recording.write([(_UPDATE, [(task.status, task.moved, None, task.task_id)])])
        return (1 - task.tokens) / rate if self._still(task, RUNNING) else _IDLE_WAIT

    def _still(self, task: MoveTask, status: str) -> bool:
        with self._lock:
            return task.status == status

    def _finish(self, task: MoveTask, status: str, reason: str | None = None) -> None:
        with self._lock:
            if task.status in (RUNNING, CANCELLING):
                self._set(task, status, reason)

    def _set(self, task: MoveTask, status: str, reason: str | None = None) -> None:
        """Change the task's status and journal it (the lock held: statuses are journaled in the order they change)."""
        task.status, task.failure_reason = status, reason
        recording.write([(_UPDATE, [(status, task.moved, reason, task.task_id)])])

    def _move_one(self, task: MoveTask) -> bool:
        """Move the source's oldest visible message: sent on, then gone from the source; False when none is left."""
        found = queue_by_arn(task.source_arn)
        if found is None:
            raise _Failed(NON_EXISTENT_QUEUE)
        _, source = found
        taken = _take(source)
        if taken is None:
            return False
        position, message = taken
        try:
            backend, destination = _destination(task, message)
            fifo = destination.fifo_queue
            backend.send_message(
                destination.name, message.body, message_attributes=message.message_attributes,
                deduplication_id=message.deduplication_id if fifo else None,
                group_id=message.group_id if fifo else None, system_attributes=dict(message.system_attributes),
            )  # fmt: skip
        except Exception as error:
            with source._messages_lock:  # not moved: back where it was, for a later task
                source._messages.insert(min(position, len(source._messages)), message)
            if isinstance(error, _Failed):
                raise
            raise _Failed(_reason(error)) from error
        # Sent (journaled) before it is deleted: a kill -9 in between delivers it twice rather than never.
        source.deleted_messages.update(handle for handle in message.all_receipt_handles if handle)
        forget_receipt_handles(message)
        recording.write([("DELETE FROM messages WHERE id = ?", [(message.id,)])])
        return True


def _take(queue: Any) -> tuple[int, Any] | None:
    """Take the queue's oldest visible message out of it (no consumer receives it meanwhile), with its position."""
    now_ms = time.time() * 1000
    retention_ms = queue.message_retention_period * 1000
    with queue._messages_lock:
        # A FIFO group with a message in flight waits, as it does for consumers: its order is kept.
        pending = list(queue.pending_messages) if queue.fifo_queue else []
        busy = {message.group_id for message in pending if message.group_id and not message.visible}
        for position, message in enumerate(list(queue._messages)):
            if not message.visible or message.delayed or message.group_id in busy:
                continue
            if message.sent_timestamp + retention_ms <= now_ms:
                continue  # past its retention period: gone on AWS
            try:
                queue._messages.remove(message)  # by identity: deletes and receives change the list without the lock
            except ValueError:
                continue  # deleted meanwhile
            queue.pending_messages.discard(message)
            return position, message
    return None


def _destination(task: MoveTask, message: Any) -> tuple[Any, Any]:
    """Where the message goes: the task's destination, else the queue it was dead-lettered from, else the only one."""
    arn = task.destination_arn or getattr(message, DEAD_LETTER_SOURCE, None)
    if arn is None:
        sources = dead_letter_sources(task.source_arn)
        if len(sources) != 1:
            raise _Failed(
                f"Message {message.id} did not come from a queue's redrive policy and {len(sources)} queues name this "
                "dead-letter queue: give a DestinationArn to move it."
            )
        arn = sources[0].queue_arn
    found = queue_by_arn(arn)
    if found is None:
        raise _Failed(NON_EXISTENT_QUEUE)
    return found


def _reason(error: Exception) -> str:
    """A failed send as a FailureReason: its SQS error code (moto's for a deleted queue is AWS's)."""
    code = getattr(error, "code", None)
    return code if isinstance(code, str) else type(error).__name__


tasks = MoveTasks()
