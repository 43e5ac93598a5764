"""DynamoDB as a service of the local AWS."""

from __future__ import annotations

from localaws.config import LocalAwsOptions
from localaws.journal import Journal
from localaws.services.dynamodb import expiry, fixes, journal
from localaws.services.service import Service

EXPIRY_SECONDS = 60  # DynamoDB itself deletes expired items within days, not seconds


class DynamoDB(Service):
    """Tables, their items journaled, their Time to Live carried out."""

    name = "dynamodb"
    corrections = (*fixes.CORRECTIONS, journal.journal_items)
    tables = journal.TABLES
    recording = journal.recording
    _expired_at = 0.0

    def restore(self, journal_: Journal, options: LocalAwsOptions) -> dict[str, int]:
        return journal.restore(journal_)

    def housekeep(self, now: float, options: LocalAwsOptions) -> None:
        if now - self._expired_at >= EXPIRY_SECONDS:
            self._expired_at = now
            expiry.expire_items(now)
