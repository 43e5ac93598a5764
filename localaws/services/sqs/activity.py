"""The activity AWS/SQS counts per queue (NumberOfMessagesSent, Received, Deleted), which moto does not publish: told
to whoever subscribes (the telemetry), so the app reads the same metrics on both homes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from localaws.services.patches import Correction, Kind

_log = logging.getLogger(__name__)
Callback = Callable[[str, str, int, float], None]  # queue name, metric name, count, unix time
_callbacks: list[Callback] = []


def on_activity(callback: Callback) -> Callable[[], None]:
    """Call callback(queue_name, metric_name, count, unix_time) for every SQS send, receive and delete; return what
    ends the subscription."""
    _callbacks.append(callback)

    def unsubscribe() -> None:
        if callback in _callbacks:
            _callbacks.remove(callback)

    return unsubscribe


def _fire(queue_name: str, metric: str, count: int) -> None:
    if count <= 0:
        return
    now = time.time()
    for callback in tuple(_callbacks):
        try:
            callback(queue_name, metric, count, now)
        except Exception:
            _log.exception("SQS activity callback %r failed", callback)


activity = Correction(
    "SQS activity hooks",
    Kind.HOOK,
    "AWS publishes AWS/SQS NumberOfMessagesSent/Received/Deleted per queue; moto publishes nothing. The batch calls "
    "go through the single ones in moto 5.2.5, so each message counts once; moves to a DLQ are not sends (as on AWS).",
)
_BACKEND = "moto.sqs.models:SQSBackend"
activity.expects(f"{_BACKEND}.send_message_batch", source=["self.send_message("])
activity.expects(f"{_BACKEND}.delete_message_batch", source=["self.delete_message("])


@activity.replaces(
    f"{_BACKEND}.send_message",
    params=["self", "queue_name", "message_body", "message_attributes", "delay_seconds", "deduplication_id",
            "group_id", "system_attributes", "validate_group_id"],
)  # fmt: skip
def send_message(original: Any, self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
    message = original(self, queue_name, *args, **kwargs)
    _fire(queue_name, "NumberOfMessagesSent", 1)
    return message


@activity.replaces(
    f"{_BACKEND}.receive_message",
    params=["self", "queue_name", "count", "wait_seconds_timeout", "visibility_timeout", "message_attribute_names"],
)
def receive_message(original: Any, self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
    received = original(self, queue_name, *args, **kwargs)
    _fire(queue_name, "NumberOfMessagesReceived", len(received))
    return received


@activity.replaces(f"{_BACKEND}.delete_message", params=["self", "queue_name", "receipt_handle"])
def delete_message(original: Any, self: Any, queue_name: str, receipt_handle: str) -> None:
    original(self, queue_name, receipt_handle)
    _fire(queue_name, "NumberOfMessagesDeleted", 1)
