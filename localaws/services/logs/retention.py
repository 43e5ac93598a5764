"""Log events kept within bounds: moto keeps every one forever."""

from __future__ import annotations

import bisect
import itertools
import operator
import threading
import time

from localaws.services.backends import iter_backends, rewrite_prefix
from localaws.services.logs.journal import recording

_prune_lock = threading.Lock()


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
    if recording.on:
        # Events as old as the oldest kept one stay in the journal too: a restart trims them again. Too old ones go
        # also where a restart left them out (a range of an index, usually empty).
        where = "log_group = ? AND stream = ? AND account = ? AND region = ? AND timestamp < ?"
        recording.write(
            [
                (f"DELETE FROM log_events WHERE {where}", cutoffs),  # noqa: S608 - constant text
                ("DELETE FROM log_events WHERE timestamp < ?", [(oldest_ms,)]),
            ]
        )
    return dropped
