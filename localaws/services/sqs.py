"""Corrections to moto's SQS: O(1) timestamps and retention checks, the activity AWS/SQS publishes, message ages."""

from __future__ import annotations

import datetime
import functools
import importlib
import inspect
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from localaws.services._patching import acknowledged, fail, is_ours, iter_backends, mark, require_params

LOG = logging.getLogger(__name__)

_activity_callbacks: list[Callable[[str, str, int, float], None]] = []


def fast_timestamps() -> None:
    """moto builds two datetimes per unix_time_millis() call, and SQS calls it for every message on every send and
    receive: the cost grew quadratically with queue depth (filling a queue to 10k messages took 12.5 minutes)."""
    correction = "SQS unix_time_millis"
    sqs_models = importlib.import_module("moto.sqs.models")
    core_utils = importlib.import_module("moto.core.utils")
    current = getattr(sqs_models, "unix_time_millis", None)
    if is_ours(current):
        return
    if current is not getattr(core_utils, "unix_time_millis", None):
        raise fail(correction, "moto.sqs.models.unix_time_millis is not moto.core.utils.unix_time_millis")
    require_params(correction, current, ["dt"])
    original = current

    @functools.wraps(original)
    def unix_time_millis(dt: datetime.datetime | None = None) -> float:
        if dt is None:
            return time.time() * 1000.0
        return original(dt)

    sqs_models.unix_time_millis = mark(unix_time_millis)


def direct_retention_check() -> None:
    """moto checks each message's retention by rebuilding every queue attribute (get_queue_attributes) per
    message; the queue already holds the period as an int attribute."""
    correction = "SQS retention period check"
    sqs_models = importlib.import_module("moto.sqs.models")
    backend_cls = sqs_models.SQSBackend
    current = backend_cls.__dict__.get("is_message_valid_based_on_retention_period")
    if is_ours(current):
        return
    require_params(correction, current, ["self", "queue_name", "message"])
    require_params(correction, backend_cls.get_queue, ["self", "queue_name"])
    if "MessageRetentionPeriod" not in inspect.getsource(sqs_models.Queue._set_attributes):
        raise fail(correction, "Queue._set_attributes no longer handles MessageRetentionPeriod")

    @functools.wraps(current)
    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        queue = self.get_queue(queue_name)
        return queue.message_retention_period + message.sent_timestamp / 1000 > time.time()

    backend_cls.is_message_valid_based_on_retention_period = mark(is_message_valid_based_on_retention_period)


def lazy_queue_attributes() -> None:
    """moto builds every attribute of a queue, counting its messages, whenever one attribute is read: SendMessage
    reads ContentBasedDeduplication per message, and GetQueueAttributes rebuilds them all three times per name
    asked. The attributes become a mapping that works out each value when it is read."""
    correction = "SQS attributes read on demand"
    queue_cls = importlib.import_module("moto.sqs.models").Queue
    current = queue_cls.__dict__.get("attributes")
    if not isinstance(current, property):
        raise fail(correction, "Queue.attributes is no longer a property")
    if is_ours(current.fget):
        return
    source = inspect.getsource(current.fget)
    for expected in ("BASE_ATTRIBUTES", "FIFO_ATTRIBUTES", "KMS_ATTRIBUTES", "redrive_policy", "self.policy"):
        if expected not in source:
            raise fail(correction, f"Queue.attributes no longer reads {expected}")
    to_attribute = importlib.import_module("moto.core.utils").camelcase_to_underscores

    class QueueAttributes(Mapping[str, Any]):
        """A queue's attributes as moto builds them, each value worked out when it is read."""

        def __init__(self, queue: Any) -> None:
            names = list(queue.BASE_ATTRIBUTES)
            names += list(queue.FIFO_ATTRIBUTES) if queue.fifo_queue else []
            names += list(queue.KMS_ATTRIBUTES) if queue.kms_master_key_id else []
            names += ["Policy"] if queue.policy else []
            names += ["RedrivePolicy"] if queue.redrive_policy else []
            self._queue = queue
            self._names = names

        def __getitem__(self, name: str) -> Any:
            if name not in self._names:
                raise KeyError(name)
            if name == "Policy":
                return self._queue.policy
            if name == "RedrivePolicy":
                return json.dumps(self._queue.redrive_policy)
            value = getattr(self._queue, to_attribute(name))
            return str(value).lower() if isinstance(value, bool) else value

        def __iter__(self) -> Iterator[str]:
            return iter(self._names)

        def __len__(self) -> int:
            return len(self._names)

    def attributes(self: Any) -> Mapping[str, Any]:
        return QueueAttributes(self)

    queue_cls.attributes = property(mark(attributes))


class _VisibleMessages:
    """A queue's visible messages, found as they are iterated (moto built the whole list on every receive)."""

    def __init__(self, messages: list[Any]) -> None:
        self._messages = messages

    def __iter__(self) -> Iterator[Any]:
        return (message for message in self._messages if message.visible and not message.delayed)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return any(True for _ in self)


def visible_messages_on_demand() -> None:
    """moto's ReceiveMessage builds the list of every visible message of the queue, then takes the first ten: the
    cost of a receive grew with the queue's depth (a 10,000-deep queue took ~20 ms per receive). The visible
    messages are now found as the receive walks them, so it stops after the first ten."""
    correction = "SQS receive walks the queue lazily"
    queue_cls = importlib.import_module("moto.sqs.models").Queue
    current = queue_cls.__dict__.get("messages")
    if not isinstance(current, property):
        raise fail(correction, "Queue.messages is no longer a property")
    if is_ours(current.fget):
        return
    if "message.visible and not message.delayed" not in inspect.getsource(current.fget):
        raise fail(correction, "Queue.messages no longer filters on visible and not delayed")

    def messages(self: Any) -> _VisibleMessages:
        return _VisibleMessages(self._messages)

    queue_cls.messages = property(mark(messages))


_by_receipt_handle: dict[str, Any] = {}


def delete_by_receipt_handle() -> None:
    """moto finds the message to delete by asking every message of the queue whether it ever had the receipt
    handle (building a list of its handles each time), twice, and rebuilds the queue's list: quadratic in the
    queue's depth over a burst. Each receipt handle now leads to its message directly."""
    correction = "SQS delete by receipt handle"
    models = importlib.import_module("moto.sqs.models")
    queue_cls, message_cls = models.Queue, models.Message
    mark_received = message_cls.__dict__["mark_received"]
    delete = queue_cls.__dict__["delete_message"]
    if is_ours(delete):
        return
    require_params(correction, mark_received, ["self", "visibility_timeout"])
    require_params(correction, delete, ["self", "receipt_handle"])
    if "self.receipt_handle = generate_receipt_handle()" not in inspect.getsource(mark_received):
        raise fail(correction, "Message.mark_received no longer makes a new receipt handle")
    for expected in ("self.deleted_messages", "self.pending_messages.discard(message)", "ReceiptHandleIsInvalid"):
        if expected not in inspect.getsource(delete):
            raise fail(correction, f"Queue.delete_message no longer uses {expected}")

    @functools.wraps(mark_received)
    def mark_received_indexed(self: Any, visibility_timeout: int | None = None) -> None:
        mark_received(self, visibility_timeout)
        _by_receipt_handle[self.receipt_handle] = self

    @functools.wraps(delete)
    def delete_message(self: Any, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return  # deleting again is not an error, as on AWS
        message = _by_receipt_handle.get(receipt_handle)
        try:
            position = self._messages.index(message) if message is not None else -1
        except ValueError:
            position = -1
        if position < 0:
            raise models.ReceiptHandleIsInvalid()
        del self._messages[position]
        self.pending_messages.discard(message)
        self.deleted_messages.update(message.all_receipt_handles)
        for handle in message.all_receipt_handles:
            _by_receipt_handle.pop(handle, None)

    message_cls.mark_received = mark(mark_received_indexed)
    queue_cls.delete_message = mark(delete_message)


def on_activity(callback: Callable[[str, str, int, float], None]) -> None:
    """Call callback(queue_name, metric_name, count, unix_time) for every SQS send, receive and delete."""
    _activity_callbacks.append(callback)


def _fire(queue_name: str, metric: str, count: int) -> None:
    if count <= 0:
        return
    now = time.time()
    for callback in tuple(_activity_callbacks):
        try:
            callback(queue_name, metric, count, now)
        except Exception:
            LOG.exception("SQS activity callback %r failed", callback)


def activity_hooks() -> None:
    """AWS publishes AWS/SQS NumberOfMessagesSent/Received/Deleted per queue; moto publishes nothing.

    The hooks let the local AWS record them, so the app reads the same metrics on both homes. The batch calls
    go through the single ones in moto 5.2.5, so each message counts once; moves to a DLQ are not sends (as on AWS).
    """
    correction = "SQS activity hooks"
    backend_cls = importlib.import_module("moto.sqs.models").SQSBackend
    for name in ("send_message_batch", "delete_message_batch"):
        single = "self.send_message(" if name == "send_message_batch" else "self.delete_message("
        if single not in inspect.getsource(backend_cls.__dict__[name]):
            raise fail(correction, f"SQSBackend.{name} no longer calls {single.rstrip('(')} per entry")

    send = backend_cls.__dict__["send_message"]
    if not is_ours(send):
        if list(inspect.signature(send).parameters)[:2] != ["self", "queue_name"]:
            raise fail(correction, "SQSBackend.send_message no longer takes (self, queue_name, ...)")

        @functools.wraps(send)
        def send_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
            message = send(self, queue_name, *args, **kwargs)
            _fire(queue_name, "NumberOfMessagesSent", 1)
            return message

        backend_cls.send_message = mark(send_message)

    receive = backend_cls.__dict__["receive_message"]
    if not is_ours(receive):
        if list(inspect.signature(receive).parameters)[:2] != ["self", "queue_name"]:
            raise fail(correction, "SQSBackend.receive_message no longer takes (self, queue_name, ...)")

        @functools.wraps(receive)
        def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
            result = receive(self, queue_name, *args, **kwargs)
            _fire(queue_name, "NumberOfMessagesReceived", len(result))
            return result

        backend_cls.receive_message = mark(receive_message)

    delete = backend_cls.__dict__["delete_message"]
    if not is_ours(delete):
        require_params(correction, delete, ["self", "queue_name", "receipt_handle"])

        @functools.wraps(delete)
        def delete_message(self: Any, queue_name: str, receipt_handle: str) -> None:
            delete(self, queue_name, receipt_handle)
            _fire(queue_name, "NumberOfMessagesDeleted", 1)

        backend_cls.delete_message = mark(delete_message)


def queue_gauges() -> dict[str, list[tuple[str, float, str]]]:
    """What CloudWatch samples of each queue, as (metric, value, unit): the age of its oldest message (0 when empty)
    and its visible messages (which the DLQ alarm reads)."""
    from moto.sqs.models import sqs_backends

    now_ms = time.time() * 1000
    gauges: dict[str, list[tuple[str, float, str]]] = {}
    for backend in iter_backends(sqs_backends):
        for name, queue in list(backend.queues.items()):
            sent = [m.sent_timestamp for m in list(queue._messages) if m.sent_timestamp is not None]
            gauges[name] = [
                ("ApproximateAgeOfOldestMessage", max(0.0, (now_ms - min(sent)) / 1000) if sent else 0.0, "Seconds"),
                ("ApproximateNumberOfMessagesVisible", queue.approximate_number_of_messages, "Count"),
            ]
    return gauges


class LambdaPoller:
    """Lambda's SQS poller reaching the queues as AWS's does, from inside (no API request, no client): receive and
    delete by queue ARN. Received messages have ReceiveMessage's shape, with every system and message attribute."""

    def receive(self, queue_arn: str, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        """Up to count messages (waiting up to wait_seconds for the first), hidden for the queue's visibility
        timeout."""
        backend, name = self._queue(queue_arn)
        timeout = int(backend.get_queue(name).visibility_timeout)
        return [
            _as_received(message) for message in backend.receive_message(name, count, wait_seconds, timeout, ["All"])
        ]

    def delete(self, queue_arn: str, receipt_handles: list[str]) -> None:
        """Delete the received messages; a handle no longer valid (received again since) is passed over."""
        backend, name = self._queue(queue_arn)
        backend.delete_message_batch(name, [{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(receipt_handles)])

    @staticmethod
    def _queue(queue_arn: str) -> tuple[Any, str]:
        from moto.sqs.models import sqs_backends

        _, _, _, region, account, name = queue_arn.split(":")
        return sqs_backends[account][region], name


def _as_received(message: Any) -> dict[str, Any]:
    """A message as ReceiveMessage with AttributeNames and MessageAttributeNames "All" answers it."""
    attributes = {
        "SenderId": message.sender_id,
        "SentTimestamp": str(message.sent_timestamp),
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    optional = {
        "MessageDeduplicationId": message.deduplication_id,
        "MessageGroupId": message.group_id,
        "SequenceNumber": message.sequence_number,
        "AWSTraceHeader": ((message.system_attributes or {}).get("AWSTraceHeader") or {}).get("StringValue"),
    }
    attributes |= {name: value for name, value in optional.items() if value is not None}
    received = {
        "MessageId": message.id,
        "ReceiptHandle": message.receipt_handle,
        "MD5OfBody": message.body_md5,
        "Body": message.body,
        "Attributes": attributes,
    }
    if message.message_attributes:
        received |= {"MessageAttributes": message.message_attributes, "MD5OfMessageAttributes": message.attribute_md5}
    return received


# --- Durability -------------------------------------------------------------------------------------
# Every message is journaled as it enters a queue (SendMessage, a move to a DLQ); a receive records its count and
# when it becomes visible again, a delete or purge removes it. SendMessage(Batch) answers only once its messages
# are on disk.

JOURNALED = "__localaws_journal__"
_journal: list[Any] = []
_UPSERT_MESSAGE = (
    "INSERT OR REPLACE INTO messages (id, queue_arn, body, attributes, system_attributes, sent_ms, receive_count, "
    "first_receive_ms, visible_at_ms, delayed_until_ms, group_id, deduplication_id, sequence_number) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def record_to(journal: Any) -> None:
    """Journal every message change to journal (None: stop)."""
    _journal[:] = [journal] if journal is not None else []


def _record(statements: list[tuple[str, Any]]) -> None:
    if _journal:
        _journal[0].write(statements)


def _message_row(queue: Any, message: Any) -> tuple[Any, ...]:
    from localaws.journal import dumps

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
    )


def journal_messages() -> None:
    """Write every queued message ahead to the journal; answer SendMessage(Batch) once it is on disk."""
    correction = "SQS journal"
    models = importlib.import_module("moto.sqs.models")
    responses = importlib.import_module("moto.sqs.responses").SQSResponse
    queue_cls, backend_cls = models.Queue, models.SQSBackend
    add = queue_cls.__dict__["add_message"]
    if is_ours(add, JOURNALED):
        return
    require_params(correction, add, ["self", "message"])
    require_params(correction, queue_cls.__dict__["delete_message"], ["self", "receipt_handle"])
    require_params(
        correction,
        backend_cls.__dict__["receive_message"],
        ["self", "queue_name", "count", "wait_seconds_timeout", "visibility_timeout", "message_attribute_names"],
    )
    for name, params in (
        ("change_message_visibility", ["self", "queue_name", "receipt_handle", "visibility_timeout"]),
        ("purge_queue", ["self", "queue_name"]),
        ("delete_queue", ["self", "queue_name"]),
        ("set_queue_attributes", ["self", "queue_name", "attributes"]),
    ):
        require_params(correction, backend_cls.__dict__[name], params)
    for name in ("send_message", "send_message_batch"):
        require_params(correction, responses.__dict__[name], ["self"])
    if "queue.add_message(message)" not in inspect.getsource(inspect.unwrap(backend_cls.send_message)):
        raise fail(correction, "SQSBackend.send_message no longer queues through Queue.add_message")
    receive_source = inspect.getsource(inspect.unwrap(backend_cls.receive_message))
    if "queue.dead_letter_queue.add_message(message)" not in receive_source:
        raise fail(correction, "SQSBackend.receive_message no longer moves to the DLQ through Queue.add_message")

    @functools.wraps(add)
    def add_message(self: Any, message: Any) -> None:
        add(self, message)
        if self.fifo_queue and not any(queued is message for queued in self._messages):
            return  # a duplicate within the deduplication interval: not queued
        _record([(_UPSERT_MESSAGE, [_message_row(self, message)])])

    receive = backend_cls.__dict__["receive_message"]

    @functools.wraps(receive)
    def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        received = receive(self, queue_name, *args, **kwargs)
        if received:
            rows = [
                (m.approximate_receive_count, m.approximate_first_receive_timestamp, m.visible_at, m.id)
                for m in received
            ]
            _record(
                [("UPDATE messages SET receive_count = ?, first_receive_ms = ?, visible_at_ms = ? WHERE id = ?", rows)]
            )
        return received

    delete = queue_cls.__dict__["delete_message"]

    @functools.wraps(delete)
    def delete_message(self: Any, receipt_handle: str) -> None:
        message = _by_receipt_handle.get(receipt_handle)
        delete(self, receipt_handle)
        if message is not None:
            _record([("DELETE FROM messages WHERE id = ?", [(message.id,)])])

    change = backend_cls.__dict__["change_message_visibility"]

    @functools.wraps(change)
    def change_message_visibility(self: Any, queue_name: str, receipt_handle: str, visibility_timeout: int) -> None:
        change(self, queue_name, receipt_handle, visibility_timeout)
        message = _by_receipt_handle.get(receipt_handle)
        if message is not None:
            _record([("UPDATE messages SET visible_at_ms = ? WHERE id = ?", [(message.visible_at, message.id)])])

    purge, delete_queue_ = backend_cls.__dict__["purge_queue"], backend_cls.__dict__["delete_queue"]

    @functools.wraps(purge)
    def purge_queue(self: Any, queue_name: str) -> None:
        arn = self.get_queue(queue_name).queue_arn
        purge(self, queue_name)
        _record([("DELETE FROM messages WHERE queue_arn = ?", [(arn,)])])

    @functools.wraps(delete_queue_)
    def delete_queue(self: Any, queue_name: str) -> None:
        arn = self.get_queue(queue_name).queue_arn
        delete_queue_(self, queue_name)
        _record(
            [
                ("DELETE FROM messages WHERE queue_arn = ?", [(arn,)]),
                ("DELETE FROM queue_attributes WHERE queue_arn = ?", [(arn,)]),
            ]
        )

    set_attributes = backend_cls.__dict__["set_queue_attributes"]

    @functools.wraps(set_attributes)
    def set_queue_attributes(self: Any, queue_name: str, attributes: dict[str, Any]) -> Any:
        queue = set_attributes(self, queue_name, attributes)
        if _journal:
            from localaws.journal import dumps

            known = [
                json.loads(row["attributes"])
                for row in _journal[0].rows(
                    "SELECT attributes FROM queue_attributes WHERE queue_arn = ?", queue.queue_arn
                )
            ]
            merged = {**(known[0] if known else {}), **attributes}
            _record([("INSERT OR REPLACE INTO queue_attributes VALUES (?, ?)", [(queue.queue_arn, dumps(merged))])])
        return queue

    queue_cls.add_message = mark(add_message, JOURNALED)
    queue_cls.delete_message = mark(delete_message, JOURNALED)
    backend_cls.receive_message = mark(receive_message, JOURNALED)
    backend_cls.change_message_visibility = mark(change_message_visibility, JOURNALED)
    backend_cls.purge_queue = mark(purge_queue, JOURNALED)
    backend_cls.delete_queue = mark(delete_queue, JOURNALED)
    backend_cls.set_queue_attributes = mark(set_queue_attributes, JOURNALED)
    responses.send_message = acknowledged(responses.__dict__["send_message"], _journal, JOURNALED)
    responses.send_message_batch = acknowledged(responses.__dict__["send_message_batch"], _journal, JOURNALED)


def restore(journal: Any) -> dict[str, int]:
    """Put the journaled messages back (same ids, bodies, timestamps, receive counts; in flight stays invisible)."""
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
        queue._messages.append(message)
        restored += 1
    if lost:
        LOG.warning("%d journaled messages belong to queues that no longer exist; not restored", lost)
    return {"messages": restored, "messages_without_queue": lost}


CORRECTIONS = (
    ("SQS unix_time_millis", fast_timestamps),
    ("SQS attributes read on demand", lazy_queue_attributes),
    ("SQS receive walks the queue lazily", visible_messages_on_demand),
    ("SQS delete by receipt handle", delete_by_receipt_handle),
    ("SQS retention period check", direct_retention_check),
    ("SQS activity hooks", activity_hooks),
    ("SQS journal", journal_messages),
)
