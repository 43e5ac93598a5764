"""Operator pages with 10,000 executions: how long each page's data takes cold and once cached.

Starts a private local AWS (temp state dir, free port, 20,000 retained executions), fills it by starting real
workflow executions of the pipeline's state machine directly (StartExecution with realistic orders from
backend.samples, 16 at a time: every execution runs the real Lambdas; only the SQS hop and starter Lambda are
skipped, which the pages never read), waits until none runs, then times each page's backend reads cold and
through the same st.cache_data functions the pages use. Stops the local AWS on exit.

    /work/venv/bin/python bench/operator_pages.py [--executions 10000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _fill(count: int, deadline: float) -> float:
    from backend import aws
    from backend.samples import random_requests
    from lambdas.domain.order import Order
    from lambdas.domain.workflow import start_workflow

    sfn = aws.client("stepfunctions")
    arn = aws.resources().state_machine_arn
    started = time.monotonic()
    done = 0
    with ThreadPoolExecutor(max_workers=16) as pool:
        for start in range(0, count, 500):
            orders = [Order.place(r) for r in random_requests(min(500, count - start))]
            list(pool.map(lambda order: start_workflow(sfn, arn, order), orders))
            done += len(orders)
            print(f"  started {done}/{count} ({done / (time.monotonic() - started):.0f}/s)", flush=True)
            while _running(sfn, arn) > 400 and time.monotonic() < deadline:  # keep the backlog bounded
                time.sleep(0.5)
            if time.monotonic() > deadline:
                raise SystemExit("filling took too long")
    while _running(sfn, arn) and time.monotonic() < deadline:
        time.sleep(1)
    return time.monotonic() - started


def _running(sfn: Any, arn: str) -> int:
    return len(sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING", maxResults=1000)["executions"])


def _time(call: Callable[[], Any], repeat: int = 3) -> tuple[float, float]:
    """(first call, median of the next repeat calls) in ms."""
    began = time.perf_counter()
    call()
    first = (time.perf_counter() - began) * 1000
    later = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        later.append((time.perf_counter() - began) * 1000)
    return first, statistics.median(later)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--executions", type=int, default=10_000)
    parser.add_argument("--timeout-minutes", type=float, default=25)
    args = parser.parse_args()
    os.environ.update(
        ORDERS_LOCAL_STATE_DIR=tempfile.mkdtemp(prefix="bench-operator-"),
        ORDERS_LOCAL_PORT="0",
        ORDERS_LOCAL_MAX_FINISHED_EXECUTIONS=str(max(20_000, args.executions * 2)),
    )
    for name in ("ORDERS_STACK_NAME", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    import backend
    from backend import aws, monitoring, operations, queues
    from localaws import instance

    deadline = time.monotonic() + args.timeout_minutes * 60
    try:
        aws.connection()
        print(f"filling {args.executions} executions…", flush=True)
        took = _fill(args.executions, deadline)
        print(f"filled in {took:.0f} s ({args.executions / took:.0f} executions/s)")
        now = datetime.now(UTC)
        day = now - timedelta(hours=24)
        total = len(monitoring.window_records(day).records)
        print(f"executions in the 24 h window: {total}")

        from pages import _data as cached  # the pages' st.cache_data reads (no Streamlit runtime: in-memory cache)

        rows = []
        some_order = monitoring.window_records(now - timedelta(minutes=15)).records[0].order_id
        backend_calls: dict[str, Callable[[], Any]] = {
            "overview: overview()": monitoring.overview,
            "queues: queue_stats x2": lambda: (queues.queue_stats("orders"), queues.queue_stats("dlq")),
            "queues: sqs_activity 24 h": lambda: queues.sqs_activity("orders", day, datetime.now(UTC), 900),
            "queues: peek_dlq(10)": lambda: queues.peek_dlq(10),
            "executions: page of 50, 24 h": lambda: operations.list_executions(
                operations.ExecutionFilter(since=day), 50
            ),
            "executions: FAILED page of 50": lambda: operations.list_executions(
                operations.ExecutionFilter(status="FAILED", since=day), 50
            ),
            "executions: by order id": lambda: operations.list_executions(
                operations.ExecutionFilter(order_id=some_order)
            ),
            "executions: detail (get_order + history)": lambda: (
                backend.get_order(some_order),
                operations.history(some_order),
            ),
            "metrics 24 h: window_records": lambda: monitoring.window_records(day),
            "metrics 24 h: kpis+throughput+latency": lambda: _metrics(day),
            "metrics 24 h: lambda_metrics": lambda: monitoring.lambda_metrics(day, datetime.now(UTC), 900),
            "metrics 1 h: lambda_metrics": lambda: monitoring.lambda_metrics(
                datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC), 60
            ),
        }
        for name, call in backend_calls.items():
            rows.append((name, *_time(call)))
        cached.clear()
        page_calls: dict[str, Callable[[], Any]] = {
            "page overview (cached)": cached.overview,
            "page queues (cached)": lambda: (
                cached.queue_stats("orders"),
                cached.queue_stats("dlq"),
                cached.sqs_activity("orders", "24 h"),
                cached.sqs_activity("dlq", "24 h"),
                cached.audit_entries(),
            ),
            "page executions 24 h (cached)": lambda: (
                cached.executions_page(None, "24 h", None, 50, None),
                cached.order_detail(some_order),
                cached.history(some_order),
            ),
            "page metrics 24 h (cached)": lambda: (cached.window_report("24 h"), cached.lambda_metrics("24 h")),
        }
        for name, call in page_calls.items():
            rows.append((name, *_time(call)))
        print()
        print(f"| data call ({total} executions) | first call (ms) | repeat (ms) |")
        print("|---|---:|---:|")
        for name, first, repeat in rows:
            print(f"| {name} | {first:.0f} | {repeat:.1f} |")
    finally:
        instance.stop_running()


def _metrics(since: datetime) -> Any:
    from backend import monitoring

    window = monitoring.window_records(since)
    return (
        monitoring.compute_kpis(window.records, monitoring.running_count()),
        monitoring.throughput(window.records, 900),
        monitoring.latency(window, 900),
    )


if __name__ == "__main__":
    main()
