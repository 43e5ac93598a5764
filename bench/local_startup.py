"""Start-up of the local AWS, template deploy included: from `python -m localaws` being spawned until it publishes
itself as ready (stack deployed, endpoint answering), and the same as a user meets it through
`python -m backend local`. Prints min/median/max.

    .venv/bin/python bench/local_startup.py --runs 5

Each run uses a fresh state folder and a free port, and stops the local AWS afterwards.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _environment(state: str) -> dict[str, str]:
    env = os.environ | {"ORDERS_LOCAL_STATE_DIR": state, "ORDERS_LOCAL_PORT": "0"}
    for name in ("ORDERS_STACK_NAME", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    return env


def server_start() -> float:
    """Seconds from spawning `python -m localaws` to its state file (written once it is ready)."""
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as state:
        ready = Path(state) / "local-aws.json"
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "localaws"], cwd=ROOT, env=_environment(state),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            while not ready.exists():
                if process.poll() is not None or time.monotonic() - started > 60:
                    raise SystemExit(f"the local AWS did not start; run `{sys.executable} -m localaws` to see why")
                time.sleep(0.01)
            return time.monotonic() - started
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def cli_start() -> float:
    """Seconds `python -m backend local` takes with nothing running (it starts the local AWS and waits)."""
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as state:
        cli = [sys.executable, "-m", "backend", "local"]
        try:
            started = time.monotonic()
            subprocess.run(cli, cwd=ROOT, env=_environment(state), check=True, capture_output=True)
            return time.monotonic() - started
        finally:
            subprocess.run([*cli, "--stop"], cwd=ROOT, env=_environment(state), capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for label, measure in (("python -m localaws", server_start), ("python -m backend local", cli_start)):
        values = [measure() for _ in range(args.runs)]
        print(
            f"{label:<24} min {min(values):.2f} s   median {statistics.median(values):.2f} s   "
            f"max {max(values):.2f} s   ({args.runs} runs)"
        )
    print(f"machine                  {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
