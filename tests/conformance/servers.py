"""The two servers moto's tests run against: a fresh local AWS (its own state folder, a free port) and plain
moto_server, moto's own, on another free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conformance.environment import clean_environment

START_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 15


class ServerError(RuntimeError):
    """A server did not start."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def moto_server(log: Path) -> Iterator[str]:
    """Plain moto_server (`python -m moto.server`) on a free loopback port, for the block; its endpoint."""
    port = _free_port()
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=clean_environment(),
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _answers(port):
            if process.poll() is not None:
                raise ServerError(f"moto_server exited with {process.returncode} while starting; see {log}")
            if time.monotonic() > deadline:
                raise ServerError(f"moto_server did not answer within {START_TIMEOUT_SECONDS} s; see {log}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def local_aws(state_dir: Path) -> Iterator[str]:
    """A local AWS of this run only (its own state folder, a free port), stack deployed, for the block; its
    endpoint. Its log stays in the state folder."""
    from localaws import instance

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(clean_environment(), ORDERS_LOCAL_STATE_DIR=str(state_dir), ORDERS_LOCAL_PORT="0")
    try:
        try:
            info = instance.ensure_running(START_TIMEOUT_SECONDS)
        except instance.LocalAwsError as exc:
            raise ServerError(f"the local AWS did not start: {exc}") from exc
        try:
            yield info.endpoint
        finally:
            instance.stop_running(STOP_TIMEOUT_SECONDS)
    finally:
        os.environ.clear()
        os.environ.update(saved)
