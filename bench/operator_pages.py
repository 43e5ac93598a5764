"""Operator pages with N executions in the window: each page's first and next render in a fresh app process.

    .venv/bin/python bench/operator_pages.py --executions 10000 50000

Starts a private local AWS (its own state folder and port) and fills it by starting real workflow executions of
the pipeline's state machine directly (StartExecution with realistic orders; every execution runs the real
Lambdas; only the SQS hop is skipped, which the pages never read). At each size it renders every page through
Streamlit's AppTest, each in a fresh Python process: the app's imports first (timed apart), then the page's first
render (every read cold) and its next render. Prints one table per size and the local AWS's memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PAGES = {
    "Overview": None,
    "Queues": "pages/queues.py",
    "Executions": "pages/executions.py",
    "Metrics": "pages/metrics.py",
    "Recent orders": "pages/orders.py",
    "Order": "pages/order.py",
    "Notifications": "pages/notifications.py",
}
# Runs in a fresh process: imports, then the page's first and next render through AppTest.
RENDER = """
import json, sys, time
began = time.perf_counter()
import pandas, plotly.express, streamlit
from streamlit.testing.v1 import AppTest
import backend, pages.ui.frame
imports = time.perf_counter() - began
page, order_id = sys.argv[1], sys.argv[2]
app = AppTest.from_file("streamlit_app.py", default_timeout=120)
if order_id:
    app.query_params["order"] = order_id
began = time.perf_counter()
app.run()
entry = time.perf_counter() - began
if page != "None":
    began = time.perf_counter()
    app.switch_page(page).run()
first = time.perf_counter() - began if page != "None" else entry
began = time.perf_counter()
app.run()
later = time.perf_counter() - began
assert not app.exception, app.exception
print(json.dumps({"imports": imports, "first": first, "next": later}))
"""


def _fill(count: int, deadline: float) -> float:
    from backend import aws
    from backend.demo.samples import random_requests
    from lambdas.domain.order import Order
    from lambdas.domain.workflow import start_workflow

    sfn = aws.client("stepfunctions")
    arn = aws.resources().state_machine_arn
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        for begin in range(0, count, 500):
            orders = [Order.place(r) for r in random_requests(min(500, count - begin))]
            list(pool.map(lambda order: start_workflow(sfn, arn, order), orders))
            print(f"  started {begin + len(orders)}/{count}", flush=True)
            while _running(sfn, arn) > 400:  # keep the backlog bounded
                if time.monotonic() > deadline:
                    raise SystemExit("filling took too long")
                time.sleep(0.5)
    while _running(sfn, arn):
        if time.monotonic() > deadline:
            raise SystemExit("filling took too long")
        time.sleep(1)
    return time.monotonic() - started


def _running(sfn: Any, arn: str) -> int:
    return len(sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING", maxResults=1000)["executions"])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _render(page: str | None, order_id: str) -> dict[str, float]:
    run = subprocess.run(
        [sys.executable, "-c", RENDER, str(page), order_id if page == "pages/order.py" else ""],
        cwd=ROOT, env=os.environ, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if run.returncode != 0:
        raise SystemExit(f"rendering {page} failed:\n{run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, nargs="+", default=[10_000])
    parser.add_argument("--timeout-minutes", type=float, default=90)
    args = parser.parse_args()
    os.environ.update(ORDERS_LOCAL_STATE_DIR=tempfile.mkdtemp(prefix="bench-operator-"), ORDERS_LOCAL_PORT="0")
    for name in ("ORDERS_STACK_NAME", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    from backend import aws, orders
    from localaws import instance

    deadline = time.monotonic() + args.timeout_minutes * 60
    filled = 0
    try:
        aws.connection()
        pid = instance.running().pid  # type: ignore[union-attr]
        for size in sorted(args.executions):
            print(f"filling to {size} executions…", flush=True)
            took = _fill(size - filled, deadline)
            print(f"  {size - filled} executions in {took:.0f} s ({(size - filled) / took:.0f}/s)", flush=True)
            filled = size
            some_order = orders.list_orders(limit=1)[0].order_id
            print(f"\n| page, {size} executions | imports (s) | first render (s) | next render (s) |")
            print("|---|---:|---:|---:|")
            for label, page in PAGES.items():
                timing = _render(page, some_order)
                print(f"| {label} | {timing['imports']:.2f} | {timing['first']:.2f} | {timing['next']:.2f} |")
            print(f"\nlocal AWS RSS: {_rss_mb(pid):.0f} MB\n", flush=True)
    finally:
        instance.stop_running()


if __name__ == "__main__":
    main()
