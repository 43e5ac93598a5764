"""python -m localaws [--port N]: run the local AWS in the foreground until interrupted; --corrections lists its
changes to moto instead."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
import uuid

from pydantic import ValidationError

from localaws import instance
from localaws.config import REGION, LocalAwsOptions
from localaws.server import LocalAws
from localaws.stack import TemplateError


def parser() -> argparse.ArgumentParser:
    """The command line's arguments."""
    arguments = argparse.ArgumentParser(prog="python -m localaws", description="The embedded local AWS.")
    arguments.add_argument("--port", type=int, help="the endpoint's port (default 4599, ORDERS_LOCAL_PORT; 0 = any)")
    arguments.add_argument(
        "--corrections", action="store_true", help="list the changes to moto (fixes, hooks) and exit"
    )
    return arguments


def main(argv: list[str] | None = None) -> int:
    """Start, publish the state file, serve until SIGINT/SIGTERM; exit 2 when the template cannot be deployed."""
    parser = argparse.ArgumentParser(prog="python -m localaws", description="The embedded local AWS.")
    parser.add_argument("--port", type=int, help="the endpoint's port (default 4599, ORDERS_LOCAL_PORT; 0 = any)")
    parser.add_argument(
        "--corrections", action="store_true", help="list the changes to moto (fixes and hooks), then exit"
    )
    args = parser.parse_args(argv)
    if args.corrections:
        return _list_corrections()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # A line per request, and an ERROR per business failure the workflow handles, drown what matters.
    for noisy in ("werkzeug", "botocore.credentials", "botocore.configprovider"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("moto").setLevel(logging.ERROR)
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)

    try:
        options = LocalAwsOptions(**({"port": args.port} if args.port is not None else {}))
    except ValidationError as exc:
        problems = "; ".join(str(error["msg"]).removeprefix("Value error, ") for error in exc.errors())
        print(f"{instance.ERROR_PREFIX}invalid settings: {problems}", file=sys.stderr, flush=True)
        return 2
    local_aws = LocalAws(options)
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    started = time.monotonic()
    try:
        local_aws.start(instance.state_dir())
    except (TemplateError, OSError) as exc:
        print(f"{instance.ERROR_PREFIX}{exc}", file=sys.stderr, flush=True)
        local_aws.stop()
        return 2
    pid = os.getpid()
    instance.publish(
        instance.LocalAwsInfo(
            endpoint=local_aws.endpoint,
            pid=pid,
            started_at=time.time(),
            region=REGION,
            stack_name=options.stack_name,
            boot_id=uuid.uuid4().hex,
            restored=local_aws.restored,
            retention_hours=options.retention_hours,
            max_execution_records=options.max_execution_records,
        )
    )
    print(
        f"Local AWS at {local_aws.endpoint} (pid {pid}), stack {options.stack_name} deployed from {options.template} "
        f"in {time.monotonic() - started:.1f} s",
        flush=True,
    )
    try:
        # A timed wait: the kernel may hand SIGTERM to any thread, and Python runs handlers only on the main one.
        while not stopping.wait(0.5):
            pass
    finally:
        instance.unpublish(pid)
        local_aws.stop()
    return 0


def _list_corrections() -> int:
    """Print every correction in force: kind, service, name, what it replaces, and why."""
    from localaws.services import registry

    registry.apply()
    for service in registry.REGISTRY:
        for correction in service.corrections:
            print(f"{correction.kind.value:<4}  {service.name:<14}  {correction.name}")
            for target in correction.targets:
                print(f"{'':22}{target}")
            print(f"{'':22}{correction.why}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
