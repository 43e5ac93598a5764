"""The command line: python -m backend {local,submit,status,orders,functions,demo} (exit codes: backend.cli.exits)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from pydantic import ValidationError

from backend.cli import demo, function_commands, local, order_commands
from backend.cli.exits import EXIT_AWS, EXIT_INPUT, EXIT_NOT_FOUND
from backend.cli.parser import parser
from backend.errors import BackendError, NotFound
from backend.lookup import InvalidOrderId
from backend.orders import InvalidOrders

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "local": local.run,
    "submit": order_commands.submit,
    "status": order_commands.status,
    "orders": order_commands.recent,
    "functions": function_commands.run,
    "demo": demo.run,
}


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (InvalidOrders, InvalidOrderId) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except NotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except (BackendError, ValidationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_AWS
