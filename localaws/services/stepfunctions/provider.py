"""Step Functions as a service of the local AWS."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from localaws import instance
from localaws.config import LocalAwsOptions
from localaws.journal import Journal
from localaws.services.service import Context, Service
from localaws.services.stepfunctions import (
    cloudformation,
    compaction,
    encryption,
    events,
    history,
    journal,
    lookups,
    names,
    parse,
    redrive,
    stop,
    task_clients,
)
from localaws.services.stepfunctions.running import running_executions

LAMBDA_INVOKE = "lambda:invoke"  # the offer Task states' Lambda Invokes are answered through, in-process


class StepFunctions(Service):
    """State machines whose executions run, journaled, reported to the telemetry, bounded in number and in memory."""

    name = "stepfunctions"
    corrections = (
        names.execution_names,
        encryption.encryption_types,
        task_clients.task_clients,
        events.execution_hooks,
        stop.stop_aborts,
        parse.definition_parse,
        parse.jsonpath_parse,
        redrive.redrive_executions,
        lookups.execution_lookups,
        lookups.list_answers,
        history.history_pages,
        journal.journal_executions,
        cloudformation.state_machines,
    )
    tables = journal.TABLES
    recording = journal.recording
    _journal: Journal | None = None
    _state_dir: Path | None = None
    _forgotten = 0.0  # the newest forgotten_through() recorded for the instance
    _subscriptions: tuple[tuple[events.Event[Any], Callable[[Any], None]], ...] = ()

    def start(self, context: Context) -> None:
        super().start(context)
        self._journal, self._state_dir = context.journal, context.state_dir
        invoke = context.offers.get(LAMBDA_INVOKE)
        if invoke is not None:
            task_clients.route_lambda_invocations(invoke)
        running_executions.limit = context.options.max_running_executions
        telemetry = context.telemetry

        def started(execution: Any) -> None:
            telemetry.record_execution_started(execution.state_machine_arn, execution.start_date.timestamp())

        def finished(execution: Any) -> None:
            telemetry.record_execution_finished(
                execution.state_machine_arn,
                execution.status,
                execution.start_date.timestamp(),
                execution.stop_date.timestamp(),
            )

        self._subscriptions = ((events.started, started), (events.finished, finished))
        for event, subscriber in self._subscriptions:
            event.subscribe(subscriber)
        self._forgotten = instance.forgotten_through(self._state_dir) or 0.0

    def restore(self, journal_: Journal, options: LocalAwsOptions) -> dict[str, int]:
        return {f"executions_{kind}": count for kind, count in journal.restore(journal_).items()}

    def housekeep(self, now: float, options: LocalAwsOptions) -> None:
        retention = options.retention_hours * 3600
        compaction.compact_finished_executions(
            options.max_finished_executions, options.max_execution_records, retention
        )
        if compaction.forgotten_through() > self._forgotten:  # lookups tell an expired order from an unknown one
            self._forgotten = compaction.forgotten_through()
            instance.record_forgotten(self._forgotten, self._state_dir)
        if self._journal is not None:
            journal.prune(self._journal, options.max_execution_records, retention, now)

    def reset(self) -> None:
        running_executions.forget_waiting()

    def stop(self) -> None:
        super().stop()
        for event, subscriber in self._subscriptions:
            event.unsubscribe(subscriber)
        self._subscriptions = ()
        task_clients.route_lambda_invocations(None)
        self._journal = None
