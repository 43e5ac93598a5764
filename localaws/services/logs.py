"""Bounded memory for moto's CloudWatch Logs: moto keeps every log event forever."""

from __future__ import annotations

import threading
import time

from localaws.services._patching import iter_backends, rewrite_prefix

_prune_lock = threading.Lock()


def prune_log_events(keep_per_stream: int, keep_seconds: float | None = None) -> int:
    """Trim every CloudWatch Logs stream to its newest keep_per_stream events, none older than keep_seconds;
    return how many were dropped."""
    if keep_per_stream < 0:
        raise ValueError(f"keep_per_stream must be >= 0, got {keep_per_stream}")
    from moto.logs.models import logs_backends

    oldest_ms = (time.time() - keep_seconds) * 1000 if keep_seconds is not None else float("-inf")

    dropped = 0
    with _prune_lock:
        for backend in iter_backends(logs_backends):
            for group in list(backend.groups.values()):
                for stream in list(group.streams.values()):
                    events = stream.events
                    snapshot = events[:]
                    too_old = sum(1 for event in snapshot if event.timestamp < oldest_ms)
                    excess = max(len(snapshot) - keep_per_stream, too_old)
                    if excess <= 0:
                        continue
                    # Newest by event timestamp (what get_log_events orders by); arrival order breaks ties.
                    by_age = sorted(range(len(snapshot)), key=lambda i: (snapshot[i].timestamp, i))
                    doomed = set(by_age[:excess])
                    kept = [event for i, event in enumerate(snapshot) if i not in doomed]
                    rewrite_prefix(events, len(snapshot), kept)
                    # storedBytes is moto's running sum of message lengths; keep it describing what is stored.
                    stream.stored_bytes -= sum(len(snapshot[i].message) for i in doomed)
                    dropped += excess
    return dropped
