"""python -m backend local: start, stop or reset the embedded local AWS, or print exports that point tools at it."""

from __future__ import annotations

import argparse
import shlex
import sys

from backend import local_aws
from backend.cli.exits import EXIT_AWS, EXIT_OK
from backend.cli.parser import PROG


def run(args: argparse.Namespace) -> int:
    """Run the command; return its exit code."""
    if args.stop:
        pid = local_aws.stop()
        print(f"Stopped the local AWS (pid {pid})." if pid else "No local AWS is running.")
        return EXIT_OK
    if args.reset:
        pid = local_aws.delete_state()
        print(f"Stopped the local AWS (pid {pid}) and deleted its state." if pid else "Deleted the local AWS's state.")
    try:
        local = local_aws.start()
    except local_aws.LocalAwsUnavailable as exc:
        print(f"error: the local AWS did not start: {exc}", file=sys.stderr)
        return EXIT_AWS
    if args.env:
        print(env_exports(local))
    else:
        print(f"Local AWS at {local.endpoint} (pid {local.pid}), stack {local.stack_name}, region {local.region}.")
        print(f'Point the AWS CLI, boto3, the SAM CLI and the app at it: eval "$({PROG} local --env)"')
    return EXIT_OK


def env_exports(local: local_aws.LocalAws) -> str:
    """Shell lines that point the AWS CLI, SDKs, SAM CLI and the app at the local AWS."""
    lines = [f"export {name}={shlex.quote(value)}" for name, value in local_aws.environment(local).items()]
    # A profile or session token from the shell would otherwise be sent along (or preferred) by the SDKs.
    return "\n".join([*lines, "unset AWS_PROFILE AWS_SESSION_TOKEN"])
