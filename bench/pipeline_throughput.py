"""Throughput of the whole pipeline on the embedded local AWS: N realistic orders, end to end; prints figures.

    .venv/bin/python bench/pipeline_throughput.py --orders 1000

Starts a private local AWS (its own state folder and port), submits the orders with `python -m backend submit
--wait --json`, then prints orders/s, latency percentiles and the local AWS's memory, and stops it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for the orders")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-local-aws-") as state:
        env = os.environ | {"ORDERS_LOCAL_STATE_DIR": state, "ORDERS_LOCAL_PORT": "0"}
        for name in ("ORDERS_STACK_NAME", "AWS_ENDPOINT_URL"):
            env.pop(name, None)
        cli = [sys.executable, "-m", "backend"]
        try:
            started = time.monotonic()
            subprocess.run([*cli, "orders", "--limit", "1"], cwd=ROOT, env=env, check=True, capture_output=True)
            start_up = time.monotonic() - started
            pid = json.loads((Path(state) / "local-aws.json").read_text())["pid"]
            rss_before = _rss_mb(pid)
            started = time.monotonic()
            run = subprocess.run(
                [*cli, "submit", "--count", str(args.orders), "--seed", str(args.seed), "--wait", "--json",
                 "--timeout", str(args.timeout)],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=args.timeout + 120,
            )  # fmt: skip
            wall = time.monotonic() - started
            summary = json.loads(run.stdout)
            rss_after = _rss_mb(pid)
        finally:
            subprocess.run([*cli, "local", "--stop"], cwd=ROOT, env=env, capture_output=True)

    latency = summary["latency_ms"]
    print(f"orders                      {summary['submitted']}")
    print(f"outcomes                    {summary['outcomes']}")
    print(f"unexpected outcomes         {len(summary['unexpected_outcomes'])}")
    print(f"not finished                {len(summary['not_finished'])}")
    print(f"local AWS start-up          {start_up:.1f} s")
    print(f"send (SendMessageBatch)     {summary['send_seconds']} s")
    print(f"wall time, submit to done   {wall:.1f} s")
    print(f"throughput                  {summary['throughput_orders_per_s']} orders/s")
    print(f"latency placed->finished    p50 {latency['p50']} ms   p90 {latency['p90']} ms   p99 {latency['p99']} ms")
    print(f"local AWS RSS               {rss_before:.0f} MB before, {rss_after:.0f} MB after")
    print(f"machine                     {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
