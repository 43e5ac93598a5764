"""Benchmark moto as our local AWS, with and without our corrections (localaws.services.registry.apply()).

Run: .venv/bin/python bench/moto_speed.py
Each variant runs in its own subprocess (patches never leak between them): moto in-process under
mock_aws(config=...) plus a ThreadedMotoServer on a free 127.0.0.1 port, driven over HTTP by boto3.
Prints median milliseconds per call. All loops are bounded; the whole run takes well under two minutes.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
CONFIG: Any = {
    "stepfunctions": {"execute_state_machine": True},
    "core": {"passthrough": {"services": ["lambda"], "urls": []}},
}
PASS3 = {
    "StartAt": "A",
    "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Pass", "Next": "C"},
        "C": {"Type": "Pass", "End": True},
    },
}
VARIANT_TIMEOUT_S = 100
ROWS = (
    ("send_message", "send_message, small queue"),
    ("send_batch_100", "send_message_batch(10), depth ~100"),
    ("receive_100", "receive_message(10), depth 100"),
    ("receive_1000", "receive_message(10), depth 1000"),
    ("attrs_1000", "get_queue_attributes(All), depth 1000"),
    ("start_pass3", "start_execution, 3-state Pass machine"),
    ("sqs_task_e2e", "3x sqs:sendMessage task machine, per execution end to end"),
)


def median_ms(call: Callable[[], Any], repeat: int, after: Callable[[], None] | None = None) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
        if after is not None:
            after()
    return statistics.median(samples)


def fill(queue_name: str, count: int) -> None:
    """Put count messages straight into the in-process queue: setup, not measurement."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import Message, sqs_backends

    # Through the API, unpatched moto needs ~20 s to reach depth 1000 (every send scans the whole queue).
    queue = sqs_backends[DEFAULT_ACCOUNT_ID][REGION].get_queue(queue_name)
    for i in range(count):
        message = Message(str(uuid.uuid4()), f"m{i}")
        message.mark_sent()
        queue.add_message(message)


def create_machine(sfn: Any, name: str, definition: dict[str, Any]) -> str:
    from moto.core import DEFAULT_ACCOUNT_ID

    role = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/bench"
    created = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=role)
    return created["stateMachineArn"]


def start(sfn: Any, machine: str, name: str) -> str:
    return sfn.start_execution(stateMachineArn=machine, name=name)["executionArn"]


def wait_all_done(sfn: Any, arns: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = list(arns)
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} executions still running after {timeout}s")
        pending = [arn for arn in pending if sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"]
        time.sleep(0.02)


def run_variant(patched: bool) -> dict[str, float]:
    import boto3
    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.server import ThreadedMotoServer
    from moto.sqs.models import sqs_backends

    if patched:
        sys.path.insert(0, str(REPO))
        from localaws.services import registry

        registry.apply()

    results: dict[str, float] = {}
    with mock_aws(config=CONFIG):
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        session = boto3.session.Session(region_name=REGION)  # mock_aws put fake credentials in the env
        sqs = session.client("sqs", endpoint_url=endpoint)
        sfn = session.client("stepfunctions", endpoint_url=endpoint)
        try:
            url = sqs.create_queue(QueueName="send")["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody="warm-up")
            results["send_message"] = median_ms(lambda: sqs.send_message(QueueUrl=url, MessageBody="x"), 100)

            url = sqs.create_queue(QueueName="batch")["QueueUrl"]
            fill("batch", 100)
            queue = sqs_backends[DEFAULT_ACCOUNT_ID][REGION].get_queue("batch")
            entries = [{"Id": str(i), "MessageBody": f"b{i}"} for i in range(10)]

            def drop_last_ten() -> None:
                # Hold the depth at ~100 so every sample measures the same thing.
                with queue._messages_lock:
                    del queue._messages[-10:]

            results["send_batch_100"] = median_ms(
                lambda: sqs.send_message_batch(QueueUrl=url, Entries=entries), 30, drop_last_ten
            )

            for depth, repeat in ((100, 30), (1000, 10)):
                url = sqs.create_queue(QueueName=f"recv{depth}")["QueueUrl"]
                fill(f"recv{depth}", depth)
                # VisibilityTimeout=0 leaves the messages visible, so the depth stays put between samples.
                request = {"QueueUrl": url, "MaxNumberOfMessages": 10, "VisibilityTimeout": 0}
                results[f"receive_{depth}"] = median_ms(lambda r=request: sqs.receive_message(**r), repeat)
            results["attrs_1000"] = median_ms(
                lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]), 30
            )

            machine = create_machine(sfn, "pass3", PASS3)
            arns: list[str] = []
            results["start_pass3"] = median_ms(lambda: arns.append(start(sfn, machine, f"p{len(arns)}")), 60)
            wait_all_done(sfn, arns, 30)

            target = sqs.create_queue(QueueName="task-target")["QueueUrl"]
            task = {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage"}
            params = {"QueueUrl": target, "MessageBody": "t"}
            tasks = {
                "StartAt": "T1",
                "States": {
                    "T1": {**task, "Parameters": params, "ResultPath": None, "Next": "T2"},
                    "T2": {**task, "Parameters": params, "ResultPath": None, "Next": "T3"},
                    "T3": {**task, "Parameters": params, "ResultPath": None, "End": True},
                },
            }
            machine = create_machine(sfn, "tasks3", tasks)
            count = 30
            began = time.perf_counter()
            arns = [start(sfn, machine, f"t{i}") for i in range(count)]
            wait_all_done(sfn, arns, 60)
            results["sqs_task_e2e"] = (time.perf_counter() - began) * 1000 / count
            statuses = {sfn.describe_execution(executionArn=arn)["status"] for arn in arns}
            if statuses != {"SUCCEEDED"}:
                raise RuntimeError(f"task executions ended {statuses}")
        finally:
            server.stop()
    return results


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--variant":
        print(json.dumps(run_variant(sys.argv[2] == "patched")))
        return
    figures: dict[str, dict[str, float]] = {}
    started = time.monotonic()
    for variant in ("as-is", "patched"):
        proc = subprocess.run(
            [sys.executable, __file__, "--variant", variant],
            capture_output=True,
            text=True,
            timeout=VARIANT_TIMEOUT_S,
            cwd=REPO,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        if proc.returncode != 0:
            sys.exit(f"variant {variant} failed:\n{proc.stderr}")
        figures[variant] = json.loads(proc.stdout.strip().splitlines()[-1])
    import moto

    print(f"moto {moto.__version__}, Python {sys.version.split()[0]}, medians in ms")
    print(f"{'call':<58} {'moto as is':>11} {'patched':>9} {'speed-up':>9}")
    for key, label in ROWS:
        before, after = figures["as-is"][key], figures["patched"][key]
        print(f"{label:<58} {before:>11.1f} {after:>9.1f} {before / after:>8.1f}x")
    print(f"total wall time {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
