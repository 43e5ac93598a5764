"""Bounded memory for moto's CloudWatch Logs: moto keeps every log event forever."""

from __future__ import annotations

import threading

from localaws.services._patching import iter_backends, rewrite_prefix

_prune_lock = threading.Lock()


def prune_log_events(keep_per_stream: int) -> int:
    """Trim every CloudWatch Logs stream to its newest keep_per_stream events; return how many were dropped."""
    if keep_per_stream < 0:
        raise ValueError(f"keep_per_stream must be >= 0, got {keep_per_stream}")
    from moto.logs.models import logs_backends

    dropped = 0
    with _prune_lock:
        for backend in iter_backends(logs_backends):
            for group in list(backend.groups.values()):
                for stream in list(group.streams.values()):
                    events = stream.events
                    snapshot = events[:]
                    excess = len(snapshot) - keep_per_stream
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
