"""SQS as a service of the local AWS."""

from __future__ import annotations

from collections.abc import Callable

from localaws.config import LocalAwsOptions
from localaws.journal import Journal
from localaws.services.service import Context, Service
from localaws.services.sqs import activity, fixes, journal, moveapi
from localaws.services.sqs.gauges import queue_gauges
from localaws.services.sqs.movetasks import tasks


class Sqs(Service):
    """Queues, their messages journaled, their activity and gauges published as AWS/SQS metrics, DLQ redrives."""

    name = "sqs"
    # The journal's last: it wraps what the others made (a message's dead-letter source is set before it is written).
    corrections = (*fixes.CORRECTIONS, *moveapi.CORRECTIONS, activity.activity, journal.journal_messages)
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
        tasks.open()

    def restore(self, journal_: Journal, options: LocalAwsOptions) -> dict[str, int]:
        return journal.restore(journal_) | {"move_tasks": tasks.restore(journal_)}

    def ready(self) -> None:
        tasks.run_worker()  # restored RUNNING move tasks go on

    def housekeep(self, now: float, options: LocalAwsOptions) -> None:
        tasks.prune(now)
        if self._context is None:
            return
        for queue, gauges in queue_gauges(now).items():
            for metric, value, unit in gauges:
                self._context.telemetry.metric("AWS/SQS", metric, value, unit, {"QueueName": queue}, now)

    def quiesce(self) -> None:
        tasks.close()  # no move after the journal closes

    def reset(self) -> None:
        fixes.forget_every_receipt_handle()
        tasks.close()  # stopped after the move under way: none is half made
        tasks.erase()  # their queues are gone with moto's state
        tasks.open()

    def stop(self) -> None:
        tasks.close()
        tasks.forget()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        super().stop()
