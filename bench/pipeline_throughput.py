"""The whole pipeline on the local AWS against its floor, measured in the same run; prints the figures.

    .venv/bin/python bench/pipeline_throughput.py --orders 1000                 # floor, pipeline, ratio
    .venv/bin/python bench/pipeline_throughput.py --rate 20 --seconds 60        # open loop: p99 at 20 orders/s
    .venv/bin/python bench/pipeline_throughput.py --orders 20000 --no-floor     # rate and memory per round of 5000

Floor: the same workflow.asl.json on the same local Step Functions, with trivial Lambdas (they return what each
state expects, in worker processes like every function) and no SQS: executions started directly. Pipeline: the
real thing, `python -m backend submit --count N --wait`. Each part gets a fresh local AWS of its own (state folder,
free port). Throughput is finished executions per second from the first order placed (or execution started) to
the last one finished. The open loop measures the orders placed after a warm-up at the same rate (15 s unless
--warmup says otherwise: the functions' cold starts fall in it) and prints the warm-up's latency beside.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from localaws import credentials  # noqa: E402

TRIVIAL_FUNCTIONS = {
    "ValidateOrderFunctionArn": "def handler(event, context):\n    return {'order': event['order']}\n",
    "ProcessPaymentFunctionArn": (
        "def handler(event, context):\n"
        "    return {'status': 'APPROVED', 'payment_id': 'pay', 'amount_cents': event['order']['total_cents']}\n"
    ),
    "SendNotificationFunctionArn": (
        "def handler(event, context):\n    return {'message_id': 'm', 'kind': event['kind']}\n"
    ),
}


@contextmanager
def local_aws() -> Iterator[dict[str, Any]]:
    """A fresh local AWS of its own; yields its state (endpoint, pid, stack) and the environment that reaches it."""
    with tempfile.TemporaryDirectory(prefix="bench-local-aws-") as state:
        env = os.environ | {"ORDERS_LOCAL_STATE_DIR": state, "ORDERS_LOCAL_PORT": "0"}
        for name in ("ORDERS_STACK_NAME", "AWS_ENDPOINT_URL"):
            env.pop(name, None)
        cli = [sys.executable, "-m", "backend", "local"]
        subprocess.run(cli, cwd=ROOT, env=env, check=True, capture_output=True)
        try:
            own = credentials.load(Path(state))
            yield json.loads((Path(state) / "local-aws.json").read_text()) | {"env": env, "credentials": own}
        finally:
            subprocess.run([*cli, "--stop"], cwd=ROOT, env=env, capture_output=True)


def _client(info: dict[str, Any], service: str) -> Any:
    import boto3
    from botocore.config import Config

    own = info["credentials"]
    return boto3.client(
        service, endpoint_url=info["endpoint"], region_name=info["region"], aws_access_key_id=own.access_key_id,
        aws_secret_access_key=own.secret_access_key,
        config=Config(max_pool_connections=32, retries={"max_attempts": 5}),
    )  # fmt: skip


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process and its finished-and-waited children have used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _over_workers(pid: int, measure: Callable[[int], float]) -> float:
    """The sum of measure over the processes whose parent is pid (the local AWS's function workers)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                total += measure(int(entry.name))
        except (OSError, IndexError):  # a worker that ended meanwhile
            continue
    return total


def _orders(count: int, seed: int) -> list[Any]:
    from backend.demo.samples import random_requests
    from lambdas.domain.order import Order

    return [Order.place(request) for request in random_requests(count, random.Random(seed))]


def floor(count: int, seed: int, timeout: float) -> dict[str, Any]:
    """Executions/s of the workflow with trivial functions and no SQS."""
    from backend.orders import wait_for_executions
    from lambdas.domain.workflow import execution_input

    with local_aws() as info:
        iam, lam, sfn = _client(info, "iam"), _client(info, "lambda"), _client(info, "stepfunctions")
        trust = {
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ]
        }
        role = iam.create_role(RoleName="floor", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        arns = {}
        for placeholder, code in TRIVIAL_FUNCTIONS.items():
            archive = io.BytesIO()
            with zipfile.ZipFile(archive, "w") as zf:
                zf.writestr("index.py", code)
            arns[placeholder] = lam.create_function(
                FunctionName=f"floor-{placeholder.removesuffix('FunctionArn')}", Runtime="python3.13", Role=role,
                Handler="index.handler", Code={"ZipFile": archive.getvalue()}, Timeout=10, MemorySize=256,
            )["FunctionArn"]  # fmt: skip
        definition = (ROOT / "workflow.asl.json").read_text()
        for placeholder, arn in arns.items():
            definition = definition.replace("${" + placeholder + "}", arn)
        machine = sfn.create_state_machine(name="floor", definition=definition, roleArn=role)["stateMachineArn"]
        orders = _orders(count, seed)
        cpu_before = _cpu_seconds(info["pid"]), _over_workers(info["pid"], _cpu_seconds)
        started = datetime.now(UTC)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda o: sfn.start_execution(stateMachineArn=machine, name=o.order_id,
                                                        input=execution_input(o)), orders))  # fmt: skip
        # Waited for as the CLI's --wait does, so both sides pay the same for watching.
        done = wait_for_executions(sfn, machine, {o.order_id for o in orders}, started, timeout)
        cpu = _cpu_seconds(info["pid"]) - cpu_before[0], _over_workers(info["pid"], _cpu_seconds) - cpu_before[1]
    span = (max(item["stopDate"] for item in done.values()) - started).total_seconds()
    return {"rate": count / span, "cpu_ms": (cpu[0] / count * 1000, cpu[1] / count * 1000)}


def pipeline(count: int, seed: int, timeout: float, round_size: int) -> list[dict[str, Any]]:
    """The CLI's summary of count orders through the whole pipeline, in rounds of round_size on one local AWS (the
    CLI takes up to 10,000 at a time), each with the local AWS's memory after it: rate and memory as history grows."""
    rounds = []
    with local_aws() as info:
        rss_before = _rss_mb(info["pid"])
        for index, begin in enumerate(range(0, count, round_size)):
            size = min(round_size, count - begin)
            cpu_before = _cpu_seconds(info["pid"]), _over_workers(info["pid"], _cpu_seconds)
            run = subprocess.run(
                [sys.executable, "-m", "backend", "submit", "--count", str(size), "--seed", str(seed + index),
                 "--wait", "--json", "--timeout", str(timeout)],
                cwd=ROOT, env=info["env"], capture_output=True, text=True, timeout=timeout + 120,
            )  # fmt: skip
            if run.returncode not in (0, 4):
                raise SystemExit(f"submit failed: {run.stderr}")
            summary = json.loads(run.stdout)
            summary["rss_mb"] = (rss_before, _rss_mb(info["pid"]), _over_workers(info["pid"], _rss_mb))
            cpu = _cpu_seconds(info["pid"]) - cpu_before[0], _over_workers(info["pid"], _cpu_seconds) - cpu_before[1]
            summary["cpu_ms"] = (cpu[0] / size * 1000, cpu[1] / size * 1000)
            summary["history"] = begin
            rounds.append(summary)
    return rounds


def open_loop(rate: float, seconds: float, warmup: float, seed: int, timeout: float) -> dict[str, Any]:
    """Orders arrive one at a time at a steady rate; latency from placed to finished, for the orders placed after
    the warm-up (the functions' cold starts fall in it), and the warm-up's own."""
    with local_aws() as info:
        os.environ.update({k: v for k, v in info["env"].items() if k.startswith("ORDERS_LOCAL_")})
        import backend
        from backend.demo.samples import random_requests

        backend.connection()
        warmup_orders = int(rate * warmup)
        requests = random_requests(warmup_orders + int(rate * seconds), random.Random(seed))
        placed: list[tuple[int, Any]] = []
        lock = threading.Lock()

        def place(index: int, request: Any) -> None:
            (order,) = backend.submit_orders([request], caller=backend.identity.cli_caller())
            with lock:
                placed.append((index, order))

        begin = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            for index, request in enumerate(requests):
                time.sleep(max(0.0, begin + index / rate - time.monotonic()))
                pool.submit(place, index, request)
        results = backend.wait_for_orders([o.order_id for _, o in placed], timeout_seconds=timeout)
        rss = _rss_mb(info["pid"])
    latencies: dict[bool, list[float]] = {True: [], False: []}  # measured (after the warm-up) or not
    for index, order in placed:
        if results[order.order_id].stopped_at:
            latency = (results[order.order_id].stopped_at - order.created_at).total_seconds() * 1000
            latencies[index >= warmup_orders].append(latency)
    quantiles = statistics.quantiles(latencies[True], n=100)
    warm = statistics.quantiles(latencies[False], n=100) if len(latencies[False]) > 1 else [float("nan")] * 99
    return {"orders": len(placed) - warmup_orders, "finished": len(latencies[True]), "warmup_orders": warmup_orders,
            "p50": quantiles[49], "p90": quantiles[89], "p99": quantiles[98], "warmup_p99": warm[98],
            "warmup_max": max(latencies[False], default=float("nan")), "rss_mb": rss}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--no-floor", action="store_true", help="skip the floor")
    parser.add_argument("--rate", type=float, help="open loop instead: orders per second")
    parser.add_argument("--seconds", type=float, default=60, help="open loop: how long, after the warm-up")
    parser.add_argument("--warmup", type=float, default=15, help="open loop: seconds of orders not measured first")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--round", type=int, default=5000, help="orders per submit (the CLI takes up to 10,000)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the orders")
    args = parser.parse_args()
    machine = f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, {datetime.now(UTC):%Y-%m-%d}"
    if args.rate:
        result = open_loop(args.rate, args.seconds, args.warmup, args.seed, args.timeout)
        print(f"open loop                   {result['orders']} orders at {args.rate:g}/s after {args.warmup:g} s of "
              f"warm-up ({result['warmup_orders']} orders), {result['finished']} finished")  # fmt: skip
        print(f"latency placed->finished    p50 {result['p50']:.0f} ms   p90 {result['p90']:.0f} ms   "
              f"p99 {result['p99']:.0f} ms")  # fmt: skip
        print(f"warm-up (cold starts)       p99 {result['warmup_p99']:.0f} ms   max {result['warmup_max']:.0f} ms")
        print(f"local AWS RSS after         {result['rss_mb']:.0f} MB")
        print(f"machine                     {machine}")
        return
    base = None if args.no_floor else floor(args.orders, args.seed, args.timeout)
    for summary in pipeline(args.orders, args.seed, args.timeout, args.round):
        rate = summary["throughput_orders_per_s"]
        latency = summary["latency_ms"]
        before, after, workers = summary["rss_mb"]
        print(f"orders                      {summary['submitted']} (after {summary['history']} already through)")
        print(f"outcomes                    {summary['outcomes']}")
        print(f"unexpected / not finished   {len(summary['unexpected_outcomes'])} / {len(summary['not_finished'])}")
        if base is not None:
            print(f"floor                       {base['rate']:.1f} executions/s (trivial functions, no SQS); CPU per "
                  f"execution: local AWS {base['cpu_ms'][0]:.1f} ms, workers {base['cpu_ms'][1]:.1f} ms")  # fmt: skip
        print(f"pipeline                    {rate} orders/s; CPU per order: local AWS {summary['cpu_ms'][0]:.1f} ms, "
              f"workers {summary['cpu_ms'][1]:.1f} ms")  # fmt: skip
        if base is not None and rate:
            print(f"pipeline / floor            {rate / base['rate']:.2f}")
        print(f"latency placed->finished    p50 {latency['p50']} ms   p90 {latency['p90']} ms   "
              f"p99 {latency['p99']} ms")  # fmt: skip
        print(f"local AWS RSS               {before:.0f} MB at start, {after:.0f} MB now; workers {workers:.0f} MB")
    print(f"machine                     {machine}")


if __name__ == "__main__":
    main()
