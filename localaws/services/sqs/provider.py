"""SQS as a service of the local AWS."""

from __future__ import annotations

from collections.abc import Callable

from localaws.config import LocalAwsOptions
from localaws.journal import Journal
from localaws.services.service import Context, Service
from localaws.services.sqs import activity, fixes, journal
from localaws.services.sqs.gauges import queue_gauges


class Sqs(Service):
    """Queues, their messages journaled, their activity and gauges published as AWS/SQS metrics."""

    name = "sqs"
    corrections = (*fixes.CORRECTIONS, activity.activity, journal.journal_messages)
    tables = journal.TABLES
    recording = journal.recording
    _context: Context | None = None
    _unsubscribe: Callable[[], None] | None = None

    def start(self, context: Context) -> None:
        super().start(context)
        self._context = context
        telemetry = context.telemetry
        self._unsubscribe = activity.on_activity(
            lambda queue, metric, count, at: telemetry.metric(
                "AWS/SQS", metric, count, "Count", {"QueueName": queue}, at
            )
        )

    def restore(self, journal_: Journal, options: LocalAwsOptions) -> dict[str, int]:
        return journal.restore(journal_)

    def housekeep(self, now: float, options: LocalAwsOptions) -> None:
        if self._context is None:
            return
        for queue, gauges in queue_gauges(now).items():
            for metric, value, unit in gauges:
                self._context.telemetry.metric("AWS/SQS", metric, value, unit, {"QueueName": queue}, now)

    def reset(self) -> None:
        fixes.forget_receipt_handles()

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        super().stop()
