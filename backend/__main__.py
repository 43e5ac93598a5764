"""Command line: python -m backend {local,submit,status,orders,demo}. Exit codes: 0 ok, 1 AWS error, 2 bad input (a
malformed order id too), 3 no execution (status: queued, purged, lost in a reset, expired or unknown), 4 timed out
waiting."""

from __future__ import annotations

import argparse
import codecs
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from backend import identity, lookup, orders
from backend.demo import PACES, pace_text
from backend.errors import BackendError, NotFound
from backend.samples import expected_outcome, random_requests
from backend.stats import percentile
from lambdas.domain.boundary import MAX_FILE_BYTES, load_json
from lambdas.domain.order import summarize_errors

EXIT_OK, EXIT_AWS, EXIT_INPUT, EXIT_NOT_FOUND, EXIT_TIMEOUT = 0, 1, 2, 3, 4
_PROG = "python -m backend"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=_PROG, description="Order pipeline command line.")
    commands = parser.add_subparsers(dest="command", required=True)

    local = commands.add_parser("local", help="start the embedded local AWS in the background (if needed)")
    action = local.add_mutually_exclusive_group()
    action.add_argument("--env", action="store_true", help="print shell exports that point AWS tools at it")
    action.add_argument("--stop", action="store_true", help="stop the local AWS running in the background")
    action.add_argument(
        "--reset", action="store_true", help="delete the local AWS's state (orders, executions, ...) and start it empty"
    )

    submit = commands.add_parser("submit", help="send orders: N random realistic ones, or those in a JSON file")
    source = submit.add_mutually_exclusive_group(required=True)
    source.add_argument("--count", type=_positive, help="how many random orders (1-10000)")
    source.add_argument("--file", type=Path, help="JSON file with one order or a list ('-' for stdin)")
    submit.add_argument("--seed", type=int, help="seed for reproducible random orders")
    submit.add_argument("--wait", action="store_true", help="block until every order is terminal, then summarise")
    submit.add_argument("--timeout", type=float, default=600, help="seconds to wait with --wait (default 600)")
    submit.add_argument("--json", action="store_true", help="print JSON")

    status = commands.add_parser(
        "status", help="an order's status and timeline; without an execution, whether it is queued, or why not"
    )
    status.add_argument("order_id")
    status.add_argument("--json", action="store_true", help="print JSON")

    recent = commands.add_parser("orders", help="the most recent orders")
    recent.add_argument("--limit", type=_positive, default=20)
    recent.add_argument("--json", action="store_true", help="print JSON")

    demo = commands.add_parser("demo", help="run the 2-minute demo: steady orders, an outage that trips an alarm")
    demo.add_argument("--speed", type=float, default=1.0, help="run the timeline X times faster (default 1)")
    demo.add_argument(
        "--pace",
        choices=list(PACES),
        default="full",
        help=f"the phases' lengths: full {pace_text('full')}, quick {pace_text('quick')} (in real time, so the "
        "alarms still trip; default full)",
    )
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError(f"must be between 1 and 10000, got {value}")
    return value


def _local(args: argparse.Namespace) -> int:
    from localaws import instance

    if args.stop:
        pid = instance.stop_running()
        print(f"Stopped the local AWS (pid {pid})." if pid else "No local AWS is running.")
        return EXIT_OK
    if args.reset:
        pid = instance.reset()
        print(f"Stopped the local AWS (pid {pid}) and deleted its state." if pid else "Deleted the local AWS's state.")
    try:
        info = instance.ensure_running()
    except instance.LocalAwsError as exc:
        print(f"error: the local AWS did not start: {exc}", file=sys.stderr)
        return EXIT_AWS
    if args.env:
        print(_env_exports(info))
    else:
        print(f"Local AWS at {info.endpoint} (pid {info.pid}), stack {info.stack_name}, region {info.region}.")
        print(f'Point the AWS CLI, boto3, the SAM CLI and the app at it: eval "$({_PROG} local --env)"')
    return EXIT_OK


def _env_exports(info: Any) -> str:
    """Shell lines that point the AWS CLI, SDKs, SAM CLI and the app at the local AWS."""
    from localaws import instance

    values = {
        "AWS_ENDPOINT_URL": info.endpoint,
        "AWS_REGION": info.region,
        "AWS_DEFAULT_REGION": info.region,
        **instance.credentials().environment(),  # the instance's own, random, from its state folder
        "ORDERS_STACK_NAME": info.stack_name,
    }
    lines = [f"export {name}={shlex.quote(value)}" for name, value in values.items()]
    # A profile or session token from the shell would otherwise be sent along (or preferred) by the SDKs.
    return "\n".join([*lines, "unset AWS_PROFILE AWS_SESSION_TOKEN"])


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


def _submit(args: argparse.Namespace) -> int:
    import random

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


def _status(args: argparse.Namespace) -> int:
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


def _orders(args: argparse.Namespace) -> int:
    recent = orders.list_orders(limit=args.limit)
    if args.json:
        print(json.dumps([summary.model_dump(mode="json") for summary in recent], indent=2))
        return EXIT_OK
    for summary in recent:
        print(f"{summary.order_id}  {summary.outcome.value:<10} {summary.started_at:%Y-%m-%d %H:%M:%S}")
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from backend.demo import run_cli

    return run_cli(args.speed, args.pace)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = _parser().parse_args(argv)
    handlers = {"local": _local, "submit": _submit, "status": _status, "orders": _orders, "demo": _demo}
    try:
        return handlers[args.command](args)
    except (orders.InvalidOrders, lookup.InvalidOrderId) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except NotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except (BackendError, ValidationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_AWS


if __name__ == "__main__":
    sys.exit(main())
