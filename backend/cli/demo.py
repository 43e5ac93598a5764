"""python -m backend demo: the demo in the foreground, printing each phase and alarm change as it happens."""

from __future__ import annotations

import argparse
import functools
import sys
import time

from backend import identity, orders
from backend.cli.exits import EXIT_AWS, EXIT_INPUT, EXIT_OK
from backend.demo import script


def run(args: argparse.Namespace) -> int:
    """Run the demo to its end; 0 at the end, 1 if it failed or was interrupted, 2 for a bad speed."""
    if args.speed <= 0:
        print(f"error: --speed must be more than 0, got {args.speed}", file=sys.stderr)
        return EXIT_INPUT
    began = time.monotonic()

    def say(text: str) -> None:
        elapsed = int(time.monotonic() - began)
        print(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {text}", flush=True)

    # The command line places orders with its user's own AWS credentials, as `submit` does.
    send = functools.partial(orders.submit_orders, caller=identity.cli_caller())
    demo = script.start(send, args.speed, say, args.pace)
    try:
        while not demo.join(timeout=0.5):
            pass
    except KeyboardInterrupt:
        demo.stop()
        demo.join()
        print("stopped", file=sys.stderr)
        return EXIT_AWS
    return EXIT_AWS if demo.status().error else EXIT_OK
