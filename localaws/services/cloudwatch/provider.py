"""CloudWatch as a service of the local AWS."""

from __future__ import annotations

from localaws.config import LocalAwsOptions
from localaws.journal import Journal
from localaws.services.cloudwatch import describe_history, fixes, history, journal, notification
from localaws.services.cloudwatch.alarms import evaluate_alarms
from localaws.services.cloudwatch.retention import retain_alarm_history, retain_metrics
from localaws.services.service import Service

EVALUATION_SECONDS = 10  # AWS evaluates alarms every minute; every 10 s keeps the local pages prompt


class CloudWatch(Service):
    """Metrics and alarms: datapoints kept for the retention and journaled, alarms evaluated, their states and
    history journaled."""

    name = "cloudwatch"
    corrections = (*fixes.CORRECTIONS, *journal.CORRECTIONS, *describe_history.CORRECTIONS, *notification.CORRECTIONS)
    tables = journal.TABLES
    recording = journal.recording
    _evaluated_at = 0.0

    def restore(self, journal_: Journal, options: LocalAwsOptions) -> dict[str, int]:
        return {
            **journal.restore_datapoints(journal_, options.retention_hours * 3600),
            **journal.restore_alarm_states(journal_),
            "alarm_history": history.restore(journal_),
        }

    def housekeep(self, now: float, options: LocalAwsOptions) -> None:
        retain_metrics(options.retention_hours * 3600, now)
        retain_alarm_history(now)
        if now - self._evaluated_at >= EVALUATION_SECONDS:
            self._evaluated_at = now
            evaluate_alarms(now)
