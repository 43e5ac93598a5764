"""Every stored log event journaled, the functions' log lines and PutLogEvents alike: the telemetry's go in the writer's
next batch, a client's PutLogEvents answers once its events are on disk. Deleting a stream or a group deletes its
events."""

from __future__ import annotations

import datetime
import time
from collections import defaultdict
from typing import Any

from localaws.journal import Journal, Tables
from localaws.services.patches import Correction, Kind
from localaws.services.recording import Recording

TABLES = Tables(
    """CREATE TABLE IF NOT EXISTS log_events (
    account TEXT NOT NULL, region TEXT NOT NULL, log_group TEXT NOT NULL, stream TEXT NOT NULL,
    timestamp INTEGER NOT NULL, ingestion_time INTEGER NOT NULL, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS log_events_by_stream ON log_events (log_group, stream, timestamp);
CREATE INDEX IF NOT EXISTS log_events_by_time ON log_events (timestamp);"""
)
recording = Recording()

journal_log_events = Correction(
    "CloudWatch Logs journal",
    Kind.HOOK,
    "Every log event a stream stores is journaled; a client's PutLogEvents answers once they are on disk.",
)
_MODELS = "moto.logs.models"


@journal_log_events.replaces(f"{_MODELS}:LogStream.put_log_events", params=["self", "log_events"])
def put_log_events(original: Any, self: Any, log_events: list[dict[str, Any]]) -> str:
    token = original(self, log_events)
    if recording.on and log_events:
        ingested = self.events[-1].ingestion_time
        where = (self.account_id, self.region, self.log_group.name, self.log_stream_name)
        rows = [(*where, event["timestamp"], ingested, event["message"]) for event in log_events]
        recording.write([("INSERT INTO log_events VALUES (?, ?, ?, ?, ?, ?, ?)", rows)])
    return token


@journal_log_events.replaces(
    f"{_MODELS}:LogsBackend.delete_log_stream", params=["self", "log_group_name", "log_stream_name"]
)
def delete_log_stream(original: Any, self: Any, log_group_name: str, log_stream_name: str) -> None:
    original(self, log_group_name, log_stream_name)
    rows = [(self.account_id, self.region_name, log_group_name, log_stream_name)]
    where = "account = ? AND region = ? AND log_group = ? AND stream = ?"
    recording.write([(f"DELETE FROM log_events WHERE {where}", rows)])  # noqa: S608 - constant text


@journal_log_events.replaces(f"{_MODELS}:LogsBackend.delete_log_group", params=["self", "log_group_name"])
def delete_log_group(original: Any, self: Any, log_group_name: str) -> None:
    original(self, log_group_name)
    rows = [(self.account_id, self.region_name, log_group_name)]
    recording.write([("DELETE FROM log_events WHERE account = ? AND region = ? AND log_group = ?", rows)])


recording.answers_when_recorded(journal_log_events, "moto.logs.responses:LogsResponse.put_log_events")


def restore(journal: Journal, keep_per_stream: int, keep_seconds: float) -> dict[str, int]:
    """Put the journaled log events back into their streams (groups and streams made again where missing), within
    the bounds: the newest keep_per_stream per stream, none older than keep_seconds."""
    from moto.logs.models import LogEvent, logs_backends

    by_stream: dict[tuple[str, str, str, str], list[Any]] = defaultdict(list)
    rows = journal.rows(
        "SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY account, region, log_group, stream "
        "ORDER BY timestamp DESC, rowid DESC) AS newest FROM log_events WHERE timestamp >= ?) "
        "WHERE newest <= ? ORDER BY rowid",
        (time.time() - keep_seconds) * 1000,
        keep_per_stream,
    )
    for row in rows:
        event = LogEvent(row["ingestion_time"], {"timestamp": row["timestamp"], "message": row["message"]})
        by_stream[(row["account"], row["region"], row["log_group"], row["stream"])].append(event)
    for (account, region, group_name, stream_name), events in by_stream.items():
        backend = logs_backends[account][region]
        backend.ensure_log_group(group_name)
        backend.ensure_log_stream(group_name, stream_name)
        stream = backend.groups[group_name].streams[stream_name]
        stream.events[:0] = events  # before anything logged since the start
        stream.stored_bytes += sum(len(event.message) for event in events)
        last_ingested = max(event.ingestion_time for event in events) / 1000
        stream.last_ingestion_time = stream.last_ingestion_time or datetime.datetime.fromtimestamp(
            last_ingested, datetime.UTC
        ).replace(tzinfo=None)  # naive UTC, as moto's clock makes it
    return {"log_events": sum(len(events) for events in by_stream.values())}
