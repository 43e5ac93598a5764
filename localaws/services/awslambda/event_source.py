"""SQS event-source mappings as Lambda runs them: poll the queue, gather a batch within the batching window, invoke
at most MaximumConcurrency at a time, and delete what succeeded (all of the batch, or what ReportBatchItemFailures
did not name). Failed messages return after the visibility timeout; the queue's redrive policy then moves them
to the DLQ. The mappings are read as the Lambda API lists them, so CreateEventSourceMapping, UpdateEventSourceMapping
(including Enabled) and the template's mappings all take effect within a second; a disabled mapping answers
State "Disabling" until its pollers have finished their last batch, then "Disabled" (nothing is invoked after that).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from localaws import chaos
from localaws.services.awslambda.functions import FunctionNotFound
from localaws.services.awslambda.runtime import LambdaRuntime
from localaws.services.backends import iter_backends

_log = logging.getLogger(__name__)
RECONCILE_SECONDS = 1.0
_IDLE_POLL_SECONDS = 1  # long-poll length while nothing is gathered: also how quickly a poller notices a stop
# Mapping UUID -> its poller threads, until they have ended: a disabled mapping is "Disabling" until then, as on AWS.
_threads: dict[str, list[threading.Thread]] = {}
_threads_lock = threading.Lock()


def still_polling(uuid: str) -> bool:
    """Whether a poller of the mapping is still receiving or invoking (after a disable: until its last batch)."""
    with _threads_lock:
        alive = [thread for thread in _threads.get(uuid, []) if thread.is_alive()]
        if alive:
            _threads[uuid] = alive
        else:
            _threads.pop(uuid, None)
        return bool(alive)


class Queues(Protocol):
    """How the pollers reach the queues: as Lambda's own poller does, receive and delete by queue ARN."""

    def receive(self, queue_arn: str, count: int, wait_seconds: int) -> list[dict[str, Any]]: ...

    def delete(self, queue_arn: str, receipt_handles: list[str]) -> None: ...


def mappings_in_process() -> list[dict[str, Any]]:
    """Every event-source mapping as ListEventSourceMappings answers it, read from moto's Lambda control plane in
    this process: the same answer without a request through the endpoint every second."""
    from moto.awslambda.models import lambda_backends

    return [
        mapping.get_configuration()
        for backend in iter_backends(lambda_backends)
        for mapping in backend.list_event_source_mappings(None, None)
    ]


@dataclass(frozen=True)
class SqsMapping:
    """What one enabled SQS event-source mapping asks for."""

    uuid: str
    function_arn: str
    queue_arn: str
    batch_size: int
    window_seconds: int
    max_concurrency: int | None
    report_item_failures: bool

    @property
    def region(self) -> str:
        return self.queue_arn.split(":")[3]


def sqs_mapping(configuration: dict[str, Any]) -> SqsMapping | None:
    """The mapping, from a ListEventSourceMappings item, if it is an enabled SQS one."""
    arn = configuration.get("EventSourceArn", "")
    if not arn.startswith("arn:aws:sqs:") or configuration.get("State") != "Enabled":
        return None
    return SqsMapping(
        uuid=configuration["UUID"],
        function_arn=configuration["FunctionArn"],
        queue_arn=arn,
        batch_size=int(configuration.get("BatchSize") or 10),
        window_seconds=int(configuration.get("MaximumBatchingWindowInSeconds") or 0),
        max_concurrency=(configuration.get("ScalingConfig") or {}).get("MaximumConcurrency"),
        report_item_failures="ReportBatchItemFailures" in (configuration.get("FunctionResponseTypes") or []),
    )


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
                "awsRegion": queue_arn.split(":")[3],
            }
            for message in messages
        ]
    }


def failed_message_ids(
    messages: list[dict[str, Any]], payload: bytes, function_error: str | None, report_item_failures: bool = True
) -> set[str]:
    """Which messages stay on the queue: all if the function failed, else the batchItemFailures it reported."""
    every_id = {message["MessageId"] for message in messages}
    if function_error:
        return every_id
    if not report_item_failures:
        return set()
    try:
        answer = json.loads(payload)
        if answer is None:
            return set()
        failures = answer.get("batchItemFailures") or []
        named = {failure["itemIdentifier"] for failure in failures}
    except (ValueError, AttributeError, KeyError, TypeError):
        return every_id  # an unreadable answer fails the batch, as on AWS
    # An identifier that is not in the batch (or is empty) fails the whole batch, as on AWS.
    return every_id if not named <= every_id else named


class _Pollers:
    """The polling threads of one mapping."""

    def __init__(
        self, mapping: SqsMapping, queues: Queues, runtime: LambdaRuntime, threads: int, faults: chaos.Faults | None
    ) -> None:
        self.mapping = mapping
        self._queues = queues
        self._runtime = runtime
        self._faults = faults
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, name=f"esm-{mapping.uuid[:8]}-{index}", daemon=True)
            for index in range(threads)
        ]
        with _threads_lock:
            _threads.setdefault(mapping.uuid, []).extend(self._threads)
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self) -> None:
        from moto.sqs.exceptions import QueueDoesNotExist

        queue_gone = False
        while not self._stop.is_set():
            try:
                self.poll_once()
                queue_gone = False
            except QueueDoesNotExist:
                # A reset took the queue; the stack's next reconcile makes it again and replaces this poller: said
                # once, not a traceback a second.
                if not queue_gone:
                    _log.warning(
                        "the queue %s of %s is gone: waiting for it", self.mapping.queue_arn, self.mapping.uuid[:8]
                    )
                queue_gone = True
                self._stop.wait(1)
            except Exception:
                _log.exception("polling %s for %s failed", self.mapping.queue_arn, self.mapping.function_arn)
                self._stop.wait(1)

    def _gather(self) -> list[dict[str, Any]]:
        mapping = self.mapping
        batch: list[dict[str, Any]] = []
        deadline = None
        while len(batch) < mapping.batch_size and not self._stop.is_set():
            if deadline is None:
                wait = _IDLE_POLL_SECONDS
            else:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                wait = min(20, math.ceil(remaining))
            batch.extend(self._queues.receive(mapping.queue_arn, min(10, mapping.batch_size - len(batch)), wait))
            if batch and deadline is None:
                if mapping.window_seconds == 0:
                    break
                deadline = time.monotonic() + mapping.window_seconds
        return batch

    def poll_once(self) -> int:
        """Gather one batch, invoke the function, delete what succeeded; return how many messages were received."""
        messages = self._gather()
        if not messages:
            return 0
        function = chaos.function_name(self.mapping.function_arn)
        if self._faults and self._faults.fault_for("lambda", "Invoke", self.mapping.region, function):
            return len(messages)  # the Invoke failed: the batch becomes visible again after the visibility timeout
        event = json.dumps(sqs_event(messages, self.mapping.queue_arn)).encode()
        result = self._runtime.invoke(self.mapping.function_arn, self.mapping.region, event)
        if result is None:
            return len(messages)  # throttled: the batch becomes visible again after the visibility timeout
        failed = failed_message_ids(messages, result.payload, result.function_error, self.mapping.report_item_failures)
        done = [message["ReceiptHandle"] for message in messages if message["MessageId"] not in failed]
        if done:
            self._queues.delete(self.mapping.queue_arn, done)
        return len(messages)


class EventSources:
    """Runs every enabled SQS event-source mapping; re-reads the mappings every second."""

    def __init__(
        self,
        mappings: Callable[[], Iterable[dict[str, Any]]],
        queues: Queues,
        runtime: LambdaRuntime,
        faults: chaos.Faults | None = None,
    ) -> None:
        self._mappings = mappings
        self._queues = queues
        self._runtime = runtime
        self._faults = faults
        self._running: dict[str, _Pollers] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="event-sources", daemon=True)

    def start(self) -> None:
        """Start following the mappings (the first reading happens at once, on the background thread)."""
        self._thread.start()

    def _loop(self) -> None:
        while True:
            try:
                self.reconcile()
            except Exception:
                _log.exception("reading the event-source mappings failed")
            if self._stop.wait(RECONCILE_SECONDS):
                return

    def reconcile(self) -> None:
        """Start, restart or stop pollers so they match the mappings."""
        wanted: dict[str, SqsMapping] = {}
        for configuration in self._mappings():
            mapping = sqs_mapping(configuration)
            if mapping:
                wanted[mapping.uuid] = mapping
        for uuid, pollers in list(self._running.items()):
            if wanted.get(uuid) != pollers.mapping:
                pollers.stop()
                del self._running[uuid]
        for uuid, mapping in wanted.items():
            if uuid not in self._running:
                try:
                    limit = self._runtime.concurrency_limit(mapping.function_arn, mapping.region)
                except FunctionNotFound:
                    continue
                threads = min(mapping.max_concurrency or limit, limit)
                self._running[uuid] = _Pollers(mapping, self._queues, self._runtime, max(1, threads), self._faults)

    def stop(self) -> None:
        """Stop polling after the current receives."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=3)
        for pollers in self._running.values():
            pollers.stop()
        for pollers in self._running.values():
            pollers.join(timeout=3)
        self._running.clear()
