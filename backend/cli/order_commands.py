"""python -m backend submit|status|orders: place orders (and wait for their outcomes), one order's status, the most
recent orders."""

from __future__ import annotations

import argparse
import codecs
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from backend import identity, lookup, orders
from backend.cli.exits import EXIT_INPUT, EXIT_NOT_FOUND, EXIT_OK, EXIT_TIMEOUT
from backend.demo.samples import expected_outcome, random_requests
from backend.stats import percentile
from lambdas.domain.boundary import MAX_FILE_BYTES, load_json
from lambdas.domain.order import summarize_errors


def _read_requests(path: Path) -> list[Any]:
    """The orders in a JSON file (one or a list), read no further than the size bound."""
    if str(path) == "-":
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
    else:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    # Editors on Windows start UTF-8 files with a byte order mark.
    value = load_json(data.removeprefix(codecs.BOM_UTF8), max_bytes=MAX_FILE_BYTES, field="file")
    return value if isinstance(value, list) else [value]


def submit(args: argparse.Namespace) -> int:
    """Send N random orders or those of a file; print their ids, or wait and summarise their outcomes."""
    if args.count:
        requests: list[Any] = random_requests(args.count, random.Random(args.seed))
    else:
        try:
            requests = _read_requests(args.file)
        except OSError as exc:
            print(f"error: cannot read orders from {args.file}: {exc}", file=sys.stderr)
            return EXIT_INPUT
        except ValidationError as exc:
            print(f"error: cannot read orders from {args.file}: {summarize_errors(exc)}", file=sys.stderr)
            return EXIT_INPUT
    started = time.monotonic()
    placed = orders.submit_orders(requests, caller=identity.cli_caller())
    sent_seconds = time.monotonic() - started
    if not args.wait:
        ids = [order.order_id for order in placed]
        print(json.dumps({"order_ids": ids}) if args.json else "\n".join(ids))
        return EXIT_OK

    def progress(done: int, total: int) -> None:
        if not args.json and sys.stderr.isatty():
            print(f"\r{done}/{total} orders finished", end="", file=sys.stderr, flush=True)

    results = orders.wait_for_orders([o.order_id for o in placed], timeout_seconds=args.timeout, progress=progress)
    summary = _summary(placed, results, sent_seconds)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_summary(summary)
    return EXIT_TIMEOUT if summary["not_finished"] else EXIT_OK


def _summary(placed: list[Any], results: dict[str, orders.OrderSummary], sent_seconds: float) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for result in results.values():
        counts[result.outcome.value] = counts.get(result.outcome.value, 0) + 1
    latencies = [
        (results[o.order_id].stopped_at - o.created_at).total_seconds() * 1000
        for o in placed
        if results[o.order_id].stopped_at
    ]
    finished = [results[o.order_id].stopped_at for o in placed if results[o.order_id].outcome.terminal]
    span = (max(finished) - min(o.created_at for o in placed)).total_seconds() if finished else 0
    mismatches = [
        {"order_id": o.order_id, "expected": expected_outcome(o).value, "actual": results[o.order_id].outcome.value}
        for o in placed
        if results[o.order_id].outcome.terminal and results[o.order_id].outcome is not expected_outcome(o)
    ]
    return {
        "submitted": len(placed),
        "outcomes": dict(sorted(counts.items())),
        "not_finished": [oid for oid, r in results.items() if not r.outcome.terminal],
        "latency_ms": {f"p{q}": _round(percentile(latencies, q)) for q in (50, 90, 99)},
        "throughput_orders_per_s": round(len(finished) / span, 1) if span else None,
        "send_seconds": round(sent_seconds, 2),
        "unexpected_outcomes": mismatches,
    }


def _round(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def _print_summary(summary: dict[str, Any]) -> None:
    print(f"\nSubmitted {summary['submitted']} orders (sent in {summary['send_seconds']} s).")
    for outcome, count in summary["outcomes"].items():
        print(f"  {outcome:<10} {count}")
    latency = summary["latency_ms"]
    print(f"Latency (placed -> finished): p50 {latency['p50']} ms, p90 {latency['p90']} ms, p99 {latency['p99']} ms")
    print(f"Throughput: {summary['throughput_orders_per_s']} orders/s")
    if summary["unexpected_outcomes"]:
        print(f"{len(summary['unexpected_outcomes'])} outcomes differ from the order rules (transient failures?).")
    if summary["not_finished"]:
        print(f"Not finished before the timeout: {len(summary['not_finished'])}")


def status(args: argparse.Namespace) -> int:
    """One order's status and timeline; without an execution, what is known instead (exit 3)."""
    found = lookup.locate(args.order_id)
    if args.json:
        print(found.model_dump_json(indent=2))
    elif isinstance(found, lookup.NoExecution):
        print(found.describe())
    else:
        _print_detail(found)
    return EXIT_NOT_FOUND if isinstance(found, lookup.NoExecution) else EXIT_OK


def _print_detail(detail: orders.OrderDetail) -> None:
    print(f"{detail.order_id}: {detail.outcome.value}")
    if detail.error:
        print(f"  error: {detail.error}: {detail.cause or ''}")
    for run in detail.timeline:
        took = f"{run.duration_ms:.0f} ms" if run.duration_ms is not None else "running"
        retries = f", attempts {run.attempts}" if run.attempts > 1 else ""
        error = f"  [{run.error}]" if run.error else ""
        print(f"  {run.entered_at:%H:%M:%S.%f}"[:-3] + f"  {run.name:<18} {run.status:<9} {took}{retries}{error}")


def recent(args: argparse.Namespace) -> int:
    """The most recent orders, newest first."""
    found = orders.list_orders(limit=args.limit)
    if args.json:
        print(json.dumps([summary.model_dump(mode="json") for summary in found], indent=2))
        return EXIT_OK
    for summary in found:
        print(f"{summary.order_id}  {summary.outcome.value:<10} {summary.started_at:%Y-%m-%d %H:%M:%S}")
    return EXIT_OK
