"""CloudWatch Logs as a service of the local AWS."""

from __future__ import annotations

from localaws.config import LocalAwsOptions
from localaws.journal import Journal
from localaws.services.logs import fixes, journal, retention
from localaws.services.service import Service


class Logs(Service):
    """Log groups and streams, their events bounded and journaled, and Logs Insights queries over them."""

    name = "logs"
    corrections = (*fixes.CORRECTIONS, journal.journal_log_events)
    tables = journal.TABLES
    recording = journal.recording

    def restore(self, journal_: Journal, options: LocalAwsOptions) -> dict[str, int]:
        return journal.restore(journal_, options.max_log_events_per_stream, options.retention_hours * 3600)

    def housekeep(self, now: float, options: LocalAwsOptions) -> None:
        retention.prune_log_events(options.max_log_events_per_stream, options.retention_hours * 3600)
