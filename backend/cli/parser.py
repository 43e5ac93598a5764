"""The command line's arguments: python -m backend {local,submit,status,orders,functions,demo}."""

from __future__ import annotations

import argparse
from pathlib import Path

from backend.cli.function_commands import FLAG_WINDOWS
from backend.demo.script import PACES, pace_text

PROG = "python -m backend"


def parser() -> argparse.ArgumentParser:
    """The parser of every command and its flags."""
    parser = argparse.ArgumentParser(prog=PROG, description="Order pipeline command line.")
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

    functions = commands.add_parser(
        "functions", help="each Lambda function's invocations, cold starts, durations, memory"
    )
    functions.add_argument(
        "--window", choices=list(FLAG_WINDOWS), default="1h", help="the window up to now (default 1h)"
    )
    functions.add_argument("--json", action="store_true", help="print JSON")

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
