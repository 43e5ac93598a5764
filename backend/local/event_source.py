"""An SQS event-source mapping: polls a queue and invokes a function with batches, honouring partial failures."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from typing import Any

from backend.local.functions import REGION, FunctionSpec
from backend.local.lambda_runtime import LocalLambdaRuntime

_log = logging.getLogger(__name__)


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda builds from received messages."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": message.get("MessageAttributes", {}),
                "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for message in messages
        ]
    }


def failed_message_ids(messages: list[dict[str, Any]], payload: bytes, function_error: str | None) -> set[str]:
    """Which messages stay on the queue: all of them if the function failed, else the batchItemFailures it reported."""
    every_id = {message["MessageId"] for message in messages}
    if function_error:
        return every_id
    try:
        failures = json.loads(payload).get("batchItemFailures") or []
        return {failure["itemIdentifier"] for failure in failures}
    except (ValueError, AttributeError, KeyError, TypeError):
        return every_id  # an unreadable answer fails the batch, as on AWS


class SqsEventSource:
    """Like a Lambda SQS event-source mapping with ReportBatchItemFailures."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        runtime: LocalLambdaRuntime,
        function: FunctionSpec,
        batch_size: int = 10,
        pollers: int = 3,
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._runtime = runtime
        self._function = function
        self._batch_size = batch_size
        self._pollers = pollers
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the polling threads."""
        for index in range(self._pollers):
            thread = threading.Thread(target=self._run, name=f"sqs-poller-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop polling after the current receive."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=3)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(wait_seconds=1)
            except Exception:
                _log.exception("polling %s failed", self._queue_url)
                self._stop.wait(1)

    def poll_once(self, wait_seconds: int = 0) -> int:
        """Receive one batch, invoke the function, delete what succeeded; return how many messages were received."""
        messages = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        result = self._runtime.invoke(self._function, json.dumps(sqs_event(messages, self._queue_arn)).encode())
        if result is None:
            return len(messages)  # throttled: the batch becomes visible again after the visibility timeout
        failed = failed_message_ids(messages, result.payload, result.function_error)
        done = [
            {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
            for index, message in enumerate(messages)
            if message["MessageId"] not in failed
        ]
        if done:
            self._sqs.delete_message_batch(QueueUrl=self._queue_url, Entries=done)
        # Failed messages stay in flight until the visibility timeout; maxReceiveCount then moves them to the DLQ.
        return len(messages)
