"""Every message journaled as it enters a queue (SendMessage, a move to a DLQ with the queue it left, a move task's
move); a receive records its count and when it is visible again, a delete or purge removes it; SendMessage(Batch)
answers once its messages are on disk. Attributes set through the API are journaled too: the stack makes its queues
again at each start, with the template's. Message move tasks keep their rows here (movetasks.py writes them)."""

from __future__ import annotations

import json
import logging
from typing import Any

from localaws.journal import Journal, Tables, dumps
from localaws.services.backends import iter_backends
from localaws.services.patches import MARK, Correction, Kind
from localaws.services.recording import Recording
from localaws.services.sqs.fixes import delete_by_receipt_handle, message_by_receipt_handle

_log = logging.getLogger(__name__)
TABLES = Tables(
    """CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY, queue_arn TEXT NOT NULL, body TEXT NOT NULL, attributes TEXT NOT NULL,
    system_attributes TEXT NOT NULL, sent_ms INTEGER NOT NULL, receive_count INTEGER NOT NULL DEFAULT 0,
    first_receive_ms INTEGER, visible_at_ms REAL NOT NULL DEFAULT 0, delayed_until_ms REAL NOT NULL DEFAULT 0,
    group_id TEXT, deduplication_id TEXT, sequence_number TEXT);
CREATE INDEX IF NOT EXISTS messages_by_queue ON messages (queue_arn, sent_ms);
CREATE TABLE IF NOT EXISTS queue_attributes (queue_arn TEXT PRIMARY KEY, attributes TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS move_tasks (
    task_id TEXT PRIMARY KEY, source_arn TEXT NOT NULL, destination_arn TEXT, max_per_second INTEGER,
    status TEXT NOT NULL, to_move INTEGER NOT NULL, moved INTEGER NOT NULL DEFAULT 0, started_ms INTEGER NOT NULL,
    failure_reason TEXT);""",
    added_columns=(("messages", "dead_letter_source_arn", "TEXT"),),
)
# Set on a message moved to a dead-letter queue: the queue it came from, where a redrive returns it by default.
DEAD_LETTER_SOURCE = "localaws_dead_letter_source_arn"
recording = Recording()
_UPSERT_MESSAGE = (
    "INSERT OR REPLACE INTO messages (id, queue_arn, body, attributes, system_attributes, sent_ms, receive_count, "
    "first_receive_ms, visible_at_ms, delayed_until_ms, group_id, deduplication_id, sequence_number, "
    "dead_letter_source_arn) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# The attributes set since the queue was made, the newest value of each (a JSON merge of objects of strings).
_MERGE_ATTRIBUTES = (
    "INSERT INTO queue_attributes VALUES (?, ?) "
    "ON CONFLICT (queue_arn) DO UPDATE SET attributes = json_patch(attributes, excluded.attributes)"
)


def _message_row(queue: Any, message: Any) -> tuple[Any, ...]:
    return (
        message.id,
        queue.queue_arn,
        message.body,
        dumps(message.message_attributes),
        dumps(message.system_attributes),
        message.sent_timestamp,
        message.approximate_receive_count,
        message.approximate_first_receive_timestamp,
        message.visible_at,
        message.delayed_until,
        message.group_id,
        message.deduplication_id,
        message.sequence_number,
        getattr(message, DEAD_LETTER_SOURCE, None),
    )


journal_messages = Correction(
    "SQS journal",
    Kind.HOOK,
    "Every queued message is written ahead to the journal (SendMessage(Batch) answers once it is on disk), and so is "
    "each change to it: received, made visible, deleted, purged with its queue.",
)
_MODELS = "moto.sqs.models"
_BACKEND = f"{_MODELS}:SQSBackend"
journal_messages.expects(f"{_BACKEND}.send_message", source=["queue.add_message(message)"])


@journal_messages.check
def _receipt_handles_indexed() -> str | None:
    from moto.sqs.models import Message

    # A delete journals the message its receipt handle leads to: the index is that correction's.
    if getattr(Message.__dict__["mark_received"], MARK, None) != delete_by_receipt_handle.name:
        return f"{delete_by_receipt_handle.name!r} must be applied first"
    return None


@journal_messages.replaces(f"{_MODELS}:Queue.add_message", params=["self", "message"])
def add_message(original: Any, self: Any, message: Any) -> None:
    original(self, message)
    if self.fifo_queue and not any(queued is message for queued in self._messages):
        return  # a duplicate within the deduplication interval: not queued
    recording.write([(_UPSERT_MESSAGE, [_message_row(self, message)])])


@journal_messages.replaces(
    f"{_BACKEND}.receive_message",
    params=["self", "queue_name", "count", "wait_seconds_timeout", "visibility_timeout", "message_attribute_names"],
    source=["queue.dead_letter_queue.add_message(message)"],  # moves to a DLQ are journaled by add_message
)
def receive_message(original: Any, self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
    received = original(self, queue_name, *args, **kwargs)
    if received and recording.on:
        rows = [
            (m.approximate_receive_count, m.approximate_first_receive_timestamp, m.visible_at, m.id) for m in received
        ]
        recording.write(
            [("UPDATE messages SET receive_count = ?, first_receive_ms = ?, visible_at_ms = ? WHERE id = ?", rows)]
        )
    return received


@journal_messages.replaces(f"{_MODELS}:Queue.delete_message", params=["self", "receipt_handle"])
def delete_message(original: Any, self: Any, receipt_handle: str) -> None:
    message = message_by_receipt_handle(receipt_handle)
    original(self, receipt_handle)
    if message is not None:
        recording.write([("DELETE FROM messages WHERE id = ?", [(message.id,)])])


@journal_messages.replaces(
    f"{_BACKEND}.change_message_visibility", params=["self", "queue_name", "receipt_handle", "visibility_timeout"]
)
def change_message_visibility(
    original: Any, self: Any, queue_name: str, receipt_handle: str, visibility_timeout: int
) -> None:
    original(self, queue_name, receipt_handle, visibility_timeout)
    message = message_by_receipt_handle(receipt_handle)
    if message is not None:
        recording.write([("UPDATE messages SET visible_at_ms = ? WHERE id = ?", [(message.visible_at, message.id)])])


@journal_messages.replaces(f"{_BACKEND}.purge_queue", params=["self", "queue_name"])
def purge_queue(original: Any, self: Any, queue_name: str) -> None:
    arn = self.get_queue(queue_name).queue_arn
    original(self, queue_name)
    recording.write([("DELETE FROM messages WHERE queue_arn = ?", [(arn,)])])


@journal_messages.replaces(f"{_BACKEND}.delete_queue", params=["self", "queue_name"])
def delete_queue(original: Any, self: Any, queue_name: str) -> None:
    arn = self.get_queue(queue_name).queue_arn
    original(self, queue_name)
    recording.write(
        [
            ("DELETE FROM messages WHERE queue_arn = ?", [(arn,)]),
            ("DELETE FROM queue_attributes WHERE queue_arn = ?", [(arn,)]),
        ]
    )


@journal_messages.replaces(f"{_BACKEND}.set_queue_attributes", params=["self", "queue_name", "attributes"])
def set_queue_attributes(original: Any, self: Any, queue_name: str, attributes: dict[str, Any]) -> Any:
    queue = original(self, queue_name, attributes)
    recording.write([(_MERGE_ATTRIBUTES, [(queue.queue_arn, dumps(attributes))])])
    return queue


recording.answers_when_recorded(
    journal_messages, "moto.sqs.responses:SQSResponse.send_message", "moto.sqs.responses:SQSResponse.send_message_batch"
)


def restore(journal: Journal) -> dict[str, int]:
    """Put the journaled messages back (same ids, bodies, timestamps, receive counts; in flight stays invisible) and
    the attributes set through the API."""
    from moto.sqs.models import Message, sqs_backends

    queues = {queue.queue_arn: queue for backend in iter_backends(sqs_backends) for queue in backend.queues.values()}
    for row in journal.rows("SELECT queue_arn, attributes FROM queue_attributes"):
        queue = queues.get(row["queue_arn"])
        if queue is not None:
            queue._set_attributes(json.loads(row["attributes"]))
    restored = lost = 0
    for row in journal.rows("SELECT * FROM messages ORDER BY sent_ms"):
        queue = queues.get(row["queue_arn"])
        if queue is None:
            lost += 1
            continue
        message = Message(row["id"], row["body"], json.loads(row["system_attributes"]))
        message.message_attributes = json.loads(row["attributes"])
        message.sent_timestamp = row["sent_ms"]
        message.approximate_receive_count = row["receive_count"]
        message.approximate_first_receive_timestamp = row["first_receive_ms"]
        message.visible_at = row["visible_at_ms"]
        message.delayed_until = row["delayed_until_ms"]
        message.group_id, message.deduplication_id = row["group_id"], row["deduplication_id"]
        message.sequence_number = row["sequence_number"]
        if row["dead_letter_source_arn"]:
            setattr(message, DEAD_LETTER_SOURCE, row["dead_letter_source_arn"])
        queue._messages.append(message)
        restored += 1
    if lost:
        _log.warning("%d journaled messages belong to queues that no longer exist; not restored", lost)
    return {"messages": restored, "messages_without_queue": lost}
