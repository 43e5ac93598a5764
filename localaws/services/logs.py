"""Corrections to moto's CloudWatch Logs: bounded memory (moto keeps every log event forever), durable events."""

from __future__ import annotations

import bisect
import datetime
import functools
import importlib
import itertools
import operator
import threading
import time
from collections import defaultdict
from typing import Any

from localaws.services._patching import acknowledged, is_ours, iter_backends, mark, require_params, rewrite_prefix

_prune_lock = threading.Lock()


def deliver(account: str, region: str, group: str, stream: str, events: list[dict[str, Any]]) -> None:
    """Store a function's log events as Lambda's own delivery does: the group and stream made where missing, the
    events (in time order) stored and journaled, no API request on the way."""
    from moto.logs.models import logs_backends

    backend = logs_backends[account][region]
    backend.ensure_log_group(group)
    backend.ensure_log_stream(group, stream)
    backend.put_log_events(group, stream, events)


def prune_log_events(keep_per_stream: int, keep_seconds: float | None = None) -> int:
    """Trim every CloudWatch Logs stream to its newest keep_per_stream events, none older than keep_seconds;
    return how many were dropped."""
    if keep_per_stream < 0:
        raise ValueError(f"keep_per_stream must be >= 0, got {keep_per_stream}")
    from moto.logs.models import logs_backends

    oldest_ms = (time.time() - keep_seconds) * 1000 if keep_seconds is not None else float("-inf")

    dropped = 0
    cutoffs: list[tuple[str, str, str, str, float]] = []  # per trimmed stream: no event older stays in the journal
    with _prune_lock:
        for backend in iter_backends(logs_backends):
            for group in list(backend.groups.values()):
                for stream in list(group.streams.values()):
                    events = stream.events
                    snapshot = events[:]
                    timestamps = [event.timestamp for event in snapshot]
                    # Newest by event timestamp (what get_log_events orders by); arrival order breaks ties. A
                    # function's stream arrives in time order: then the oldest are a prefix, found without sorting.
                    in_order = all(map(operator.le, timestamps, itertools.islice(timestamps, 1, None)))
                    if in_order:
                        too_old = bisect.bisect_left(timestamps, oldest_ms)
                    else:
                        too_old = sum(1 for timestamp in timestamps if timestamp < oldest_ms)
                    excess = max(len(snapshot) - keep_per_stream, too_old)
                    if excess <= 0:
                        continue
                    by_age = (
                        range(len(snapshot)) if in_order else sorted(range(len(snapshot)), key=timestamps.__getitem__)
                    )
                    doomed = set(by_age[:excess])
                    kept = snapshot[excess:] if in_order else [e for i, e in enumerate(snapshot) if i not in doomed]
                    rewrite_prefix(events, len(snapshot), kept)
                    # storedBytes is moto's running sum of message lengths; keep it describing what is stored.
                    stream.stored_bytes -= sum(len(snapshot[i].message) for i in doomed)
                    dropped += excess
                    oldest_kept = timestamps[by_age[excess]] if excess < len(snapshot) else float("inf")
                    cutoffs.append((group.name, stream.log_stream_name, group.account_id, group.region, oldest_kept))
    if _journal:
        # Events as old as the oldest kept one stay in the journal too: a restart trims them again. Too old ones go
        # also where a restart left them out (a range of an index, usually empty).
        where = "log_group = ? AND stream = ? AND account = ? AND region = ? AND timestamp < ?"
        _journal[0].write(
            [
                (f"DELETE FROM log_events WHERE {where}", cutoffs),  # noqa: S608 - constant text
                ("DELETE FROM log_events WHERE timestamp < ?", [(oldest_ms,)]),
            ]
        )
    return dropped


# --- Durability -------------------------------------------------------------------------------------
# Every stored log event is journaled (the functions' log lines and PutLogEvents alike); the telemetry's go in the
# writer's next batch, a client's PutLogEvents answers once its events are on disk. Deleting a stream or a group
# deletes its events.

JOURNALED = "__localaws_journal__"
_journal: list[Any] = []


def record_to(journal: Any) -> None:
    """Journal every stored log event to journal (None: stop)."""
    _journal[:] = [journal] if journal is not None else []


def journal_log_events() -> None:
    """Journal every log event a stream stores; a client's PutLogEvents answers once they are on disk."""
    correction = "CloudWatch Logs journal"
    models = importlib.import_module("moto.logs.models")
    responses = importlib.import_module("moto.logs.responses").LogsResponse
    stream_cls, backend_cls = models.LogStream, models.LogsBackend
    put = stream_cls.__dict__["put_log_events"]
    if is_ours(put, JOURNALED):
        return
    require_params(correction, put, ["self", "log_events"])
    delete_stream, delete_group = backend_cls.__dict__["delete_log_stream"], backend_cls.__dict__["delete_log_group"]
    require_params(correction, delete_stream, ["self", "log_group_name", "log_stream_name"])
    require_params(correction, delete_group, ["self", "log_group_name"])
    answer = responses.__dict__["put_log_events"]
    require_params(correction, answer, ["self"])

    @functools.wraps(put)
    def put_log_events(self: Any, log_events: list[dict[str, Any]]) -> str:
        token = put(self, log_events)
        if _journal and log_events:
            ingested = self.events[-1].ingestion_time
            where = (self.account_id, self.region, self.log_group.name, self.log_stream_name)
            rows = [(*where, event["timestamp"], ingested, event["message"]) for event in log_events]
            _journal[0].write([("INSERT INTO log_events VALUES (?, ?, ?, ?, ?, ?, ?)", rows)])
        return token

    @functools.wraps(delete_stream)
    def delete_log_stream(self: Any, log_group_name: str, log_stream_name: str) -> None:
        delete_stream(self, log_group_name, log_stream_name)
        if _journal:
            rows = [(self.account_id, self.region_name, log_group_name, log_stream_name)]
            where = "account = ? AND region = ? AND log_group = ? AND stream = ?"
            _journal[0].write([(f"DELETE FROM log_events WHERE {where}", rows)])  # noqa: S608 - constant text

    @functools.wraps(delete_group)
    def delete_log_group(self: Any, log_group_name: str) -> None:
        delete_group(self, log_group_name)
        if _journal:
            rows = [(self.account_id, self.region_name, log_group_name)]
            _journal[0].write([("DELETE FROM log_events WHERE account = ? AND region = ? AND log_group = ?", rows)])

    stream_cls.put_log_events = mark(put_log_events, JOURNALED)
    backend_cls.delete_log_stream = mark(delete_log_stream, JOURNALED)
    backend_cls.delete_log_group = mark(delete_log_group, JOURNALED)
    responses.put_log_events = acknowledged(answer, _journal, JOURNALED)


def restore(journal: Any, keep_per_stream: int, keep_seconds: float) -> dict[str, int]:
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


CORRECTIONS = (("CloudWatch Logs journal", journal_log_events),)
