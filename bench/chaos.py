"""Chaos bench: orders through the whole local pipeline while faults are injected; ends with one JSON line.

    .venv/bin/python bench/chaos.py --orders 10000 --kills 2      # the full run (67 min on 2 loaded cores)
    .venv/bin/python bench/chaos.py --orders 500 --stall 8        # what tests/integration/test_chaos.py runs

Faults, each through a real mechanism on a local AWS of the bench's own (state folder, port):
- transient errors: the local AWS's chaos rules fail a share of Lambda Invokes (Step Functions' Task states retry
  `Lambda.ServiceException`; the event source's failed batch comes back after the visibility timeout), of
  `StartExecution` and of DynamoDB calls (the handlers' SDK retries them); the simulated payment gateway times out
  at `PaymentTransientFailureRate`, and the sample cards include `tok_timeout_once`;
- crashed handler processes: a random Lambda worker of the local AWS is killed (SIGKILL) every few seconds;
- duplicate deliveries: acknowledged orders' exact bodies are sent to the queue again, soon and late;
- poison: bodies that are not JSON, of the wrong schema, and a valid order padded past the 64 KiB bound;
- `kill -9` of the local AWS and a restart on the same port and state folder, `kills` times;
- a stalled event source: the starter's mapping disabled (UpdateEventSourceMapping) for `stall_seconds`.

Counted at the end, after a bounded wait: executions per order name (ListExecutions), each acknowledged order's
outcome against `expected_outcome`, the poison bodies in the DLQ, and charges in the simulated gateway's own
ledger (`PaymentLedgerPath`: one line per charge, written by the gateway before it answers, so it outlives crashes
and restarts; the idempotency table cannot show a charge whose record was never completed).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import hashlib
import json
import logging
import os
import random
import signal
import socket
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

_log = logging.getLogger("chaos")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend import aws, orders  # noqa: E402
from backend.demo.samples import expected_outcome, random_requests  # noqa: E402
from backend.executions import Outcome  # noqa: E402
from backend.identity import cli_caller  # noqa: E402
from backend.settings import settings  # noqa: E402
from lambdas.domain.order import Order  # noqa: E402
from localaws import chaos, instance, journal  # noqa: E402

VISIBILITY_TIMEOUT = 8  # seconds before a failed batch comes back (the template's 185 s is for AWS)
PAYMENT_TRANSIENT_FAILURE_RATE = 0.05
SUBMIT_CHUNK = 100
WORKER_KILL_SECONDS = 6.0
POISON_SHARE = 0.01
DUPLICATE_SHARE = 0.02
OVERSIZE_PADDING = 70 * 1024  # past the order's 64 KiB bound, under SQS's 256 KiB
# Starts are counted from this long into a stall: the mapping is re-read every second, and batches received before
# it was disabled are still processed, as on AWS (slowly, on a loaded machine). Many later starts would mean
# Enabled=false was not honoured.
STALL_GRACE_SECONDS = 2.0


class ChaosReport(BaseModel):
    """What survived: the issue's figures first, then what explains them."""

    acknowledged: int
    terminal: int
    lost: int
    duplicated_executions: int
    double_charged: int
    poison_sent: int
    poison_in_dlq: int
    by_outcome: dict[str, int]
    seconds: float
    unexpected_outcomes: int  # differ from expected_outcome other than a fault ending the order FAILED
    # Ended FAILED where expected_outcome says otherwise, by the failed task's error (retries exhausted, a crash).
    failed_by_faults: dict[str, int]
    replayed_charges: int  # requests the gateway answered from its idempotency key: each one a double charge avoided
    charged_not_succeeded: int  # the gateway approved a charge but the order did not succeed
    orders_in_dlq: int
    injected: dict[str, int]

    @property
    def goal_met(self) -> bool:
        """Nothing lost, run twice or charged twice; every poison message dead-lettered; outcomes as predicted."""
        return (
            self.lost == self.duplicated_executions == self.double_charged == self.unexpected_outcomes == 0
            and self.poison_in_dlq == self.poison_sent
        )


def fault_rules(start_order_function: str) -> list[dict[str, Any]]:
    """The chaos rules of the run (the first matching rule decides)."""
    service_error = {"code": "ServiceException", "statusCode": 500, "message": "Injected Lambda service error"}
    return [
        # A failed batch counts a receive: three in a row dead-letter an order, so the starter fails less often.
        {"service": "lambda", "operation": "Invoke", "function": start_order_function, "probability": 0.02,
         "error": service_error},
        {"service": "lambda", "operation": "Invoke", "probability": 0.03, "error": service_error},
        {"service": "states", "operation": "StartExecution", "probability": 0.02,
         "error": {"code": "ThrottlingException", "statusCode": 400, "message": "Injected throttle"}},
        {"service": "dynamodb", "probability": 0.02,
         "error": {"code": "ProvisionedThroughputExceededException", "statusCode": 400, "message": "Injected"}},
    ]  # fmt: skip


def poison_bodies(count: int, rng: random.Random) -> list[str]:
    """count bodies the starter must refuse, by thirds: not JSON, the wrong schema, a valid order too large."""
    bodies = []
    for index in range(count):
        kind = index % 3
        if kind == 0:
            bodies.append(f"chaos poison {index}: not JSON {{")
        elif kind == 1:
            bodies.append(json.dumps({"order_id": f"chaos-poison-{index}", "lines": "wrong schema"}))
        else:
            order = Order.place(random_requests(1, rng)[0]).model_dump_json()
            bodies.append(order[:-1] + " " * OVERSIZE_PADDING + "}")  # valid JSON, valid order, too large
    return bodies


def _digest(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def _own_local_aws(state_dir: Path, parameters: str) -> Iterator[None]:
    """The backend pointed at a local AWS of this run only (its state folder, one port kept across restarts)."""
    names = ("ORDERS_LOCAL_STATE_DIR", "ORDERS_LOCAL_PORT", "ORDERS_LOCAL_PARAMETERS", "ORDERS_STACK_NAME",
             "AWS_ENDPOINT_URL", "AWS_PROFILE")  # fmt: skip
    saved = {name: os.environ.get(name) for name in names}
    for name in names:
        os.environ.pop(name, None)
    os.environ.update(
        ORDERS_LOCAL_STATE_DIR=str(state_dir), ORDERS_LOCAL_PORT=str(_free_port()), ORDERS_LOCAL_PARAMETERS=parameters
    )
    settings.cache_clear()
    aws.reset()
    try:
        yield
    finally:
        instance.stop_running()
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
        settings.cache_clear()
        aws.reset()


class _Bench:
    """One run's faults and counts, against the backend's current local AWS."""

    def __init__(self, state_dir: Path, rng: random.Random) -> None:
        self.state_dir = state_dir
        self.rng = rng
        self.injected: collections.Counter[str] = collections.Counter()
        self.stalled_until: float | None = None

    def start(self) -> None:
        """Start (or restart) the local AWS and set what the run needs: a short visibility timeout, the rules."""
        aws.reset()
        connection = aws.connection()
        aws.client("sqs").set_queue_attributes(
            QueueUrl=connection.resources.orders_queue_url, Attributes={"VisibilityTimeout": str(VISIBILITY_TIMEOUT)}
        )
        self.set_rules(fault_rules(connection.resources.function_names["start_order"]))

    def set_rules(self, rules: list[dict[str, Any]]) -> None:
        chaos.set_rules(aws.connection().endpoint_url or "", rules)

    def progress(self) -> tuple[int, int, int]:
        """Executions ended and running, and messages on the orders queue, from the local AWS's journal: cheap at
        any size, and readable while it restarts."""
        queue = aws.resources().orders_queue_url.rsplit("/", 1)[1]
        with contextlib.closing(sqlite3.connect(self.state_dir / journal.FILE_NAME, timeout=5)) as reader:
            ended, running = reader.execute(
                "SELECT count(*) FILTER (WHERE status != 'RUNNING'), count(*) FILTER (WHERE status = 'RUNNING') "
                "FROM executions"
            ).fetchone()
            queued = reader.execute("SELECT count(*) FROM messages WHERE queue_arn LIKE ?", [f"%:{queue}"])
            return ended, running, queued.fetchone()[0]

    def send(self, bodies: list[str]) -> None:
        sqs, url = aws.client("sqs"), aws.resources().orders_queue_url
        for start in range(0, len(bodies), 10):
            entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start : start + 10])]
            failed = sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")
            if failed:
                raise RuntimeError(f"SQS refused bench messages: {failed}")

    def kill_a_worker(self) -> None:
        """SIGKILL one Lambda worker process of the local AWS, whatever it is doing."""
        info = instance.running()
        workers = _children_running(info.pid, b"bootstrap.py") if info else []
        if workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.rng.choice(workers), signal.SIGKILL)
                self.injected["worker_kills"] += 1

    def kill_local_aws(self) -> None:
        """kill -9 the local AWS in mid-run, then start it again on the same state folder and port."""
        info = instance.running()
        if info is None:
            raise RuntimeError("the local AWS is not running")
        os.kill(info.pid, signal.SIGKILL)
        _wait(lambda: not instance.running(), 15, "the local AWS to die")
        self.injected["local_aws_kills"] += 1
        self.start()

    def stall_event_source(self, enabled: bool) -> None:
        """Disable or enable the starter's SQS event-source mapping, as UpdateEventSourceMapping does on AWS."""
        lam = aws.client("lambda")
        function = aws.resources().function_names["start_order"]
        (mapping,) = lam.list_event_source_mappings(FunctionName=function)["EventSourceMappings"]
        lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=enabled)

    def dead_letters(self) -> list[str]:
        """Every body in the DLQ (each received once: hidden for longer than the count takes)."""
        sqs, url = aws.client("sqs"), aws.resources().dead_letter_queue_url
        bodies: dict[str, str] = {}
        empty_receives = 0
        while empty_receives < 2:
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600, WaitTimeSeconds=1
            ).get("Messages", [])
            empty_receives = 0 if messages else empty_receives + 1
            bodies |= {message["MessageId"]: message["Body"] for message in messages}
        return list(bodies.values())


def _children_running(pid: int, marker: bytes) -> list[int]:
    """The processes whose parent is pid and whose command line contains marker."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if (
                entry.name.isdigit()
                and (entry / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(pid)
                and marker in (entry / "cmdline").read_bytes()
            ):
                found.append(int(entry.name))
        except (OSError, IndexError):  # ended meanwhile
            continue
    return found


def _wait(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)
    return result


def _ledger(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run(
    orders_count: int = 10_000,
    kills: int = 1,
    stall_seconds: float = 20,
    seed: int = 7,
    timeout_seconds: float | None = None,
    keep_in: Path | None = None,
) -> ChaosReport:
    """Put orders_count orders through the local pipeline under every fault; count what survived. The local AWS's
    state (journal, log, the gateway's ledger) stays in keep_in if given, else in a folder deleted at the end."""
    rng = random.Random(seed)
    timeout = timeout_seconds or max(240.0, orders_count * 0.4)
    with tempfile.TemporaryDirectory(prefix="chaos-") as state:
        state_dir = keep_in or Path(state)
        ledger = state_dir / "payment-ledger.jsonl"
        parameters = (
            f"StartOrderBatchingWindowSeconds=0 PaymentTransientFailureRate={PAYMENT_TRANSIENT_FAILURE_RATE} "
            f"PaymentLedgerPath={ledger}"
        )
        with _own_local_aws(state_dir, parameters):
            bench = _Bench(state_dir, rng)
            bench.start()
            return _run(bench, orders_count, kills, stall_seconds, timeout, ledger)


def _run(
    bench: _Bench, orders_count: int, kills: int, stall_seconds: float, timeout: float, ledger: Path
) -> ChaosReport:
    rng = bench.rng
    requests = random_requests(orders_count, rng)
    poison = poison_bodies(max(3, round(orders_count * POISON_SHARE / 3) * 3), rng)
    chunks = [requests[start : start + SUBMIT_CHUNK] for start in range(0, len(requests), SUBMIT_CHUNK)]
    poison_per_chunk = -(-len(poison) // len(chunks))
    began = time.monotonic()
    placed: list[Order] = []
    for index, chunk in enumerate(chunks):
        placed += orders.submit_orders(chunk, caller=cli_caller())
        bench.send(poison[index * poison_per_chunk : (index + 1) * poison_per_chunk])
        # Soon after they were sent: most duplicates arrive while the first delivery is queued or running.
        soon = rng.sample(placed, k=round(len(chunk) * DUPLICATE_SHARE / 2))
        bench.send([order.model_dump_json() for order in soon])
        bench.injected["duplicates_sent"] += len(soon)
    bench.injected["poison_sent"] = len(poison)
    _log.info("%d orders acknowledged in %.1f s", len(placed), time.monotonic() - began)

    # Faults by progress (finished executions): the stall early, the kills spread out, late duplicates after them.
    total = len(placed)
    stall_at, late_duplicates_at = 0.15, 0.85
    kill_at = [0.3 + 0.5 * index / max(1, kills) for index in range(kills)]
    deadline = began + timeout
    next_worker_kill = time.monotonic() + WORKER_KILL_SECONDS
    stall_done = late_done = False
    settled_at: float | None = None
    stalled_from = 0
    while time.monotonic() < deadline:
        ended, running, queued = bench.progress()
        if not running + queued:
            break  # nothing runs and the queue is empty (poison dead-lettered): nothing more can happen
        done = ended / total
        now = time.monotonic()
        if not stall_done and done >= stall_at:
            _log.info("%.0f %% finished: the event source stalls for %.0f s", done * 100, stall_seconds)
            bench.stall_event_source(enabled=False)
            bench.stalled_until, stall_done = now + stall_seconds, True
            settled_at = now + STALL_GRACE_SECONDS
        elif settled_at is not None and now >= settled_at:
            stalled_from, settled_at = ended + running, None
        elif bench.stalled_until is not None and now >= bench.stalled_until:
            bench.injected["started_while_stalled"] = ended + running - stalled_from
            bench.stall_event_source(enabled=True)
            bench.stalled_until = None
            bench.injected["stalled_seconds"] = round(stall_seconds)
        elif kill_at and done >= kill_at[0] and bench.stalled_until is None:
            kill_at.pop(0)
            _log.info("%.0f %% finished: kill -9 of the local AWS", done * 100)
            bench.kill_local_aws()
            _log.info("restarted")
        elif not late_done and done >= late_duplicates_at:
            late = rng.sample(placed, k=round(total * DUPLICATE_SHARE / 2))
            bench.send([order.model_dump_json() for order in late])
            bench.injected["duplicates_sent"] += len(late)
            late_done = True
        if now >= next_worker_kill:
            bench.kill_a_worker()
            next_worker_kill = now + WORKER_KILL_SECONDS
        time.sleep(0.5)
    if bench.stalled_until is not None:
        bench.stall_event_source(enabled=True)
    bench.set_rules([])  # the counting below must not be failed by the run's own rules
    _log.info("settled after %.1f s; %s", time.monotonic() - began, dict(bench.injected))

    ids = [order.order_id for order in placed]
    results = orders.wait_for_orders(ids, timeout_seconds=max(10.0, deadline - time.monotonic()))
    seconds = time.monotonic() - began
    _log.info("orders terminal after %.1f s; counting", seconds)
    return _count(bench, placed, results, poison, ledger, seconds)


def _count(
    bench: _Bench,
    placed: list[Order],
    results: dict[str, Any],
    poison: list[str],
    ledger: Path,
    seconds: float,
) -> ChaosReport:
    poison_digests = {_digest(body) for body in poison}
    dead = [_digest(body) for body in bench.dead_letters()]
    sfn = aws.client("stepfunctions")
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=aws.resources().state_machine_arn)
    runs = collections.Counter(item["name"] for page in pages for item in page["executions"])
    outcomes = {order.order_id: results[order.order_id].outcome for order in placed}
    expected = {order.order_id: expected_outcome(order) for order in placed}
    answers = _ledger(ledger)
    approved = collections.Counter(
        line["order_id"] for line in answers if line["status"] == "APPROVED" and not line["replayed"]
    )
    terminal = sum(1 for outcome in outcomes.values() if outcome.terminal)
    differ = [oid for oid, outcome in outcomes.items() if outcome.terminal and outcome is not expected[oid]]
    return ChaosReport(
        acknowledged=len(placed),
        terminal=terminal,
        lost=len(placed) - terminal,
        duplicated_executions=sum(1 for order in placed if runs[order.order_id] > 1),
        double_charged=sum(1 for count in approved.values() if count > 1),
        poison_sent=len(poison),
        poison_in_dlq=sum(1 for digest in dead if digest in poison_digests),
        by_outcome=dict(collections.Counter(outcome.value for outcome in outcomes.values())),
        seconds=round(seconds, 1),
        unexpected_outcomes=sum(1 for oid in differ if outcomes[oid] is not Outcome.FAILED),
        failed_by_faults=_task_errors(sfn, [results[oid] for oid in differ if outcomes[oid] is Outcome.FAILED]),
        replayed_charges=sum(1 for line in answers if line["replayed"]),
        charged_not_succeeded=sum(1 for oid in approved if outcomes.get(oid) is not Outcome.SUCCEEDED),
        orders_in_dlq=sum(1 for digest in dead if digest not in poison_digests),
        injected=dict(bench.injected),
    )


def _task_errors(sfn: Any, failed: list[Any]) -> dict[str, int]:
    """How many failed orders each task error ended: OrderFailed's cause is the failed task's error document."""
    errors: collections.Counter[str] = collections.Counter()
    for summary in failed:
        cause = sfn.describe_execution(executionArn=summary.execution_arn).get("cause") or ""
        try:
            errors[json.loads(cause).get("errorType") or "?"] += 1
        except (ValueError, AttributeError):
            errors[cause.split(" (", 1)[0][:80]] += 1  # a service error: its message, without the request details
    return dict(errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=1, help="kill -9 and restarts of the local AWS")
    parser.add_argument("--stall", type=float, default=20, help="seconds the event source is disabled")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, help="seconds to wait for the orders (default: 0.4 per order)")
    parser.add_argument("--keep-in", type=Path, help="an empty folder to keep the local AWS's state and log in")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    report = run(args.orders, args.kills, args.stall, args.seed, args.timeout, args.keep_in)
    print(report.model_dump_json(), flush=True)
    sys.exit(0 if report.goal_met else 1)


if __name__ == "__main__":
    main()
