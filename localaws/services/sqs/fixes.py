"""Where moto's SQS is too slow to be usable: costs that grew with the depth of the queue (every figure measured in
docs/local-aws.md)."""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

from localaws.services.patches import Correction, Kind

_MODELS = "moto.sqs.models"

timestamps = Correction(
    "SQS unix_time_millis",
    Kind.FIX,
    "moto builds two datetimes per unix_time_millis() call, and SQS calls it for every message on every send and "
    "receive: the cost grew quadratically with queue depth (filling a queue to 10k messages took 12.5 minutes).",
)


@timestamps.check
def _core_clock() -> str | None:
    from moto.core import utils
    from moto.sqs import models

    if models.unix_time_millis is not utils.unix_time_millis:
        return "moto.sqs.models.unix_time_millis is not moto.core.utils.unix_time_millis"
    return None


@timestamps.replaces(f"{_MODELS}:unix_time_millis", params=["dt"])
def unix_time_millis(original: Any, dt: datetime.datetime | None = None) -> float:
    if dt is None:
        return time.time() * 1000.0
    return original(dt)


retention = Correction(
    "SQS retention period check",
    Kind.FIX,
    "moto checks each message's retention by rebuilding every queue attribute (get_queue_attributes) per message; "
    "the queue already holds the period as an int attribute.",
)
retention.expects(f"{_MODELS}:SQSBackend.get_queue", params=["self", "queue_name"])
retention.expects(f"{_MODELS}:Queue._set_attributes", source=["MessageRetentionPeriod"])


@retention.replaces(
    f"{_MODELS}:SQSBackend.is_message_valid_based_on_retention_period", params=["self", "queue_name", "message"]
)
def is_message_valid_based_on_retention_period(original: Any, self: Any, queue_name: str, message: Any) -> bool:
    queue = self.get_queue(queue_name)
    return queue.message_retention_period + message.sent_timestamp / 1000 > time.time()


attributes_on_demand = Correction(
    "SQS attributes read on demand",
    Kind.FIX,
    "moto builds every attribute of a queue, counting its messages, whenever one attribute is read: SendMessage reads "
    "ContentBasedDeduplication per message, and GetQueueAttributes rebuilds them all three times per name asked. The "
    "attributes become a mapping that works out each value when it is read.",
)


@attributes_on_demand.check
def _attributes_a_property() -> str | None:
    from moto.sqs.models import Queue

    return None if isinstance(Queue.__dict__.get("attributes"), property) else "Queue.attributes is not a property"


class QueueAttributes(Mapping[str, Any]):
    """A queue's attributes as moto builds them, each value worked out when it is read."""

    def __init__(self, queue: Any) -> None:
        # Policy and RedrivePolicy are base attributes, but answered only when set (an empty RedrivePolicy removes it).
        names = [name for name in queue.BASE_ATTRIBUTES if name not in ("Policy", "RedrivePolicy")]
        names += list(queue.FIFO_ATTRIBUTES) if queue.fifo_queue else []
        names += list(queue.KMS_ATTRIBUTES) if queue.kms_master_key_id else []
        names += ["Policy"] if queue.policy else []
        names += ["RedrivePolicy"] if queue.redrive_policy else []
        self._queue = queue
        self._names = names

    def __getitem__(self, name: str) -> Any:
        from moto.core.utils import camelcase_to_underscores

        if name not in self._names:
            raise KeyError(name)
        if name == "Policy":
            return self._queue.policy
        if name == "RedrivePolicy":
            return json.dumps(self._queue.redrive_policy)
        value = getattr(self._queue, camelcase_to_underscores(name))
        return str(value).lower() if isinstance(value, bool) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


@attributes_on_demand.replaces(
    f"{_MODELS}:Queue.attributes",
    params=["self"],
    source=["BASE_ATTRIBUTES", "FIFO_ATTRIBUTES", "KMS_ATTRIBUTES", "redrive_policy", "self.policy"],
)
def attributes(original: Any, self: Any) -> Mapping[str, Any]:
    return QueueAttributes(self)


lazy_receive = Correction(
    "SQS receive walks the queue lazily",
    Kind.FIX,
    "moto's ReceiveMessage builds the list of every visible message of the queue, then takes the first ten: the cost "
    "of a receive grew with the queue's depth (a 10,000-deep queue took ~20 ms per receive). The visible messages are "
    "now found as the receive walks them, so it stops after the first ten.",
)


@lazy_receive.check
def _messages_a_property() -> str | None:
    from moto.sqs.models import Queue

    return None if isinstance(Queue.__dict__.get("messages"), property) else "Queue.messages is not a property"


class VisibleMessages:
    """A queue's visible messages, found as they are iterated (moto built the whole list on every receive)."""

    def __init__(self, messages: list[Any]) -> None:
        self._messages = messages

    def __iter__(self) -> Iterator[Any]:
        return (message for message in self._messages if message.visible and not message.delayed)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return any(True for _ in self)


@lazy_receive.replaces(f"{_MODELS}:Queue.messages", params=["self"], source=["message.visible and not message.delayed"])
def messages(original: Any, self: Any) -> VisibleMessages:
    return VisibleMessages(self._messages)


delete_by_receipt_handle = Correction(
    "SQS delete by receipt handle",
    Kind.FIX,
    "moto finds the message to delete by asking every message of the queue whether it ever had the receipt handle "
    "(building a list of its handles each time), twice, and rebuilds the queue's list: quadratic in the queue's depth "
    "over a burst. Each receipt handle now leads to its message directly.",
)
_by_receipt_handle: dict[str, Any] = {}


def forget_every_receipt_handle() -> None:
    """Forget every handle (their messages were forgotten)."""
    _by_receipt_handle.clear()


def message_by_receipt_handle(receipt_handle: str) -> Any:
    """The message that was received with receipt_handle, if not deleted since (None otherwise)."""
    return _by_receipt_handle.get(receipt_handle)


def forget_receipt_handles(message: Any) -> None:
    """Drop the message's receipt handles from the index: it left its queue other than by a delete (a move task)."""
    for handle in message.all_receipt_handles:
        _by_receipt_handle.pop(handle, None)


@delete_by_receipt_handle.replaces(
    f"{_MODELS}:Message.mark_received",
    params=["self", "visibility_timeout"],
    source=["self.receipt_handle = generate_receipt_handle()"],
)
def mark_received(original: Any, self: Any, visibility_timeout: int | None = None) -> None:
    original(self, visibility_timeout)
    _by_receipt_handle[self.receipt_handle] = self


@delete_by_receipt_handle.replaces(
    f"{_MODELS}:Queue.delete_message",
    params=["self", "receipt_handle"],
    source=["self.deleted_messages", "self.pending_messages.discard(message)", "ReceiptHandleIsInvalid"],
)
def delete_message(original: Any, self: Any, receipt_handle: str) -> None:
    from moto.sqs.models import ReceiptHandleIsInvalid

    if receipt_handle in self.deleted_messages:
        return  # deleting again is not an error, as on AWS
    message = _by_receipt_handle.get(receipt_handle)
    try:
        position = self._messages.index(message) if message is not None else -1
    except ValueError:
        position = -1
    if position < 0:
        raise ReceiptHandleIsInvalid()
    del self._messages[position]
    self.pending_messages.discard(message)
    self.deleted_messages.update(message.all_receipt_handles)
    for handle in message.all_receipt_handles:
        _by_receipt_handle.pop(handle, None)


CORRECTIONS = (timestamps, attributes_on_demand, lazy_receive, delete_by_receipt_handle, retention)
