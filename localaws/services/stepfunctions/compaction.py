"""Memory kept bounded (moto keeps every execution forever): full detail for the newest finished executions, a compact
record of the older ones up to a number and an age, nothing beyond; and the worker threads moto never lets go of."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from localaws.services.backends import iter_backends, rewrite_prefix
from localaws.services.stepfunctions import events
from localaws.services.stepfunctions.finished import CompactExecution, is_finished, seconds
from localaws.services.stepfunctions.lookups import IndexedExecutions

# Serialises the passes: the in-place prefix rewrite below is only safe if nobody else removes items.
_lock = threading.Lock()
_forgotten_through = 0.0  # the start time (epoch seconds) of the newest execution dropped so far


def forgotten_through() -> float:
    """The start time of the newest execution whose record was dropped (0 when none was): older ones are gone too."""
    return _forgotten_through


def compact_finished_executions(keep_detail: int, keep_records: int, keep_seconds: float) -> tuple[int, int]:
    """Keep full detail for the newest keep_detail finished executions, a compact record of the other finished ones
    up to keep_records in all that started in the last keep_seconds, and nothing else; return (compacted, dropped).
    The ARNs of those compacted are published (events.compacted)."""
    if min(keep_detail, keep_records, keep_seconds) < 0:
        raise ValueError(f"limits must be >= 0, got {keep_detail}, {keep_records}, {keep_seconds}")
    oldest_kept = time.time() - keep_seconds
    with _lock:
        lists = _execution_lists()
        compacted = _compact_tails(lists, keep_detail, keep_records, oldest_kept)
        if compacted is None:
            compacted = _compact_all(lists, keep_detail, keep_records, oldest_kept)
        _prune_finished_threads()
        shrunk, dropped = compacted
        if shrunk:
            events.compacted.publish(shrunk)
        return len(shrunk), dropped


def _execution_lists() -> list[list[Any]]:
    from moto.stepfunctions.models import stepfunctions_backends
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    lists: list[list[Any]] = []
    # With execute_state_machine on, the API reads and writes stepfunctions_parser_backends; the plain dict only holds
    # CloudFormation-made machines then. Both are swept so neither mode leaks.
    for backend_dict in (stepfunctions_parser_backends, stepfunctions_backends):
        for backend in iter_backends(backend_dict):
            for machine in list(backend.state_machines):
                lists.append(machine.executions)
                # Executions started through a version ARN live on the version object.
                versions = list(getattr(machine, "versions", {}).values())
                lists.extend(version.executions for version in versions)
    return lists


def _row(position: int, execution: Any) -> tuple[float, int, Any] | None:
    """(start time, position, execution) of a finished execution, None for a running one."""
    if isinstance(execution, CompactExecution):
        return execution.start_ts, position, execution
    return (seconds(execution.start_date), position, execution) if is_finished(execution) else None


def _newest_first(rows: list[tuple[float, int, Any]]) -> None:
    # As list_executions orders them; later in a list breaks ties.
    rows.sort(key=lambda row: (row[0], row[1]), reverse=True)


def _shrinkable(rows: list[tuple[float, int, Any]], doomed: set[int]) -> dict[int, str]:
    """id -> ARN of the executions among rows that still hold full detail (a restored one does too) and stay."""
    return {
        id(execution): execution.exec_arn
        for _, _, execution in rows
        if id(execution) not in doomed and type(execution) is not CompactExecution
    }


def _compact_all(lists: list[Any], keep_detail: int, keep_records: int, oldest_kept: float) -> tuple[list[str], int]:
    snapshots = [(items, items[:]) for items in lists]
    finished = [row for _, snapshot in snapshots for row in map(_row, range(len(snapshot)), snapshot) if row]
    _newest_first(finished)
    beyond = finished[keep_detail:]
    records_left = max(keep_records - keep_detail, 0)
    doomed = {
        id(execution)
        for rank, (started, _, execution) in enumerate(beyond)
        if started < oldest_kept or rank >= records_left
    }
    shrink = _shrinkable(beyond, doomed)
    global _forgotten_through
    _forgotten_through = max(
        [_forgotten_through, *(started for started, _, execution in beyond if id(execution) in doomed)]
    )
    indexed = [items for items in lists if isinstance(items, IndexedExecutions)]
    for items in indexed:
        items.unsettle()
    for items, snapshot in snapshots:
        if any(id(execution) in doomed or id(execution) in shrink for execution in snapshot):
            kept = [
                CompactExecution(execution) if id(execution) in shrink else execution
                for execution in snapshot
                if id(execution) not in doomed
            ]
            rewrite_prefix(items, len(snapshot), kept)
    for items in indexed:
        items.settle()
    return list(shrink.values()), len(doomed)


def _compact_tails(
    lists: list[Any], keep_detail: int, keep_records: int, oldest_kept: float
) -> tuple[list[str], int] | None:
    """compact_finished_executions' answer found by reading only what follows each list's compact records (those
    change only by being dropped), or None when the whole lists must be read: something is due to be dropped, or the
    compact records are not all older than the rest. Each pass read every execution kept (up to 50,000)."""
    if not all(isinstance(items, IndexedExecutions) and items.settled <= len(items) for items in lists):
        return None
    tails = [(items, items.settled, items[items.settled :]) for items in lists]
    finished = [row for _, first, tail in tails for row in map(_row, range(first, first + len(tail)), tail) if row]
    _newest_first(finished)
    settled = [items for items in lists if items.settled]
    total = len(finished) + sum(items.settled for items in settled)
    if settled and (
        (finished and max(items.settled_newest for items in settled) >= finished[-1][0])
        or min(items.settled_oldest for items in settled) < oldest_kept
    ):
        return None
    if total - keep_detail > max(keep_records - keep_detail, 0) or any(
        started < oldest_kept for started, _, _ in finished[keep_detail:]
    ):
        return None
    shrink = _shrinkable(finished[keep_detail:], set())
    for items, first, tail in tails:
        if any(id(execution) in shrink for execution in tail):
            items[first : first + len(tail)] = [
                CompactExecution(execution) if id(execution) in shrink else execution for execution in tail
            ]
        items.settle()
    return list(shrink.values()), 0


def _prune_finished_threads() -> None:
    # moto appends every worker Thread it starts (several per execution) to TMP_THREADS and never removes one;
    # nothing reads the list, so finished threads are only a leak.
    utils = sys.modules.get("moto.stepfunctions.parser.utils")
    threads = getattr(utils, "TMP_THREADS", None)
    if not isinstance(threads, list):
        return
    snapshot = threads[:]
    kept = [thread for thread in snapshot if thread.ident is None or thread.is_alive()]
    if len(kept) != len(snapshot):
        rewrite_prefix(threads, len(snapshot), kept)
