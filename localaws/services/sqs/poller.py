"""Lambda's SQS poller reaching the queues as AWS's does, from inside: the event source's way in."""

from __future__ import annotations

from typing import Any


class LambdaPoller:
    """Receive and delete by queue ARN, with no API request and no client. Received messages have ReceiveMessage's
    shape, with every system and message attribute."""

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
