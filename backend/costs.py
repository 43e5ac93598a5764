"""The cost per order of a window, measured the same way on both homes: Lambda requests and GB-seconds from the
functions' reports (backend.functions), Step Functions state transitions as finished executions (AWS/States) x the
mean transitions of a sample of their histories, SQS requests from AWS/SQS message counts; priced by
backend.pricing. DynamoDB, SNS, CloudWatch Logs and X-Ray are left out: the local AWS publishes no metric of them."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from backend import aws
from backend.errors import translated
from backend.executions import StateRun, history_events, timeline
from backend.functions import FunctionsReport, functions_report, gb_seconds
from backend.metrics import MetricQuery, metric_series
from backend.pricing import Cost, Usage, price

SAMPLE_EXECUTIONS = 10  # histories read to learn the transitions of one execution
SQS_BATCH = 10  # messages one SendMessageBatch, ReceiveMessage or DeleteMessageBatch request carries at most
_FINISHED = ("ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsAborted", "ExecutionsTimedOut")
_SQS = ("NumberOfMessagesSent", "NumberOfMessagesReceived", "NumberOfMessagesDeleted")
METHOD = (
    "Lambda: requests and billed duration x memory from the functions' REPORT records (Logs Insights). Step "
    "Functions: executions finished (AWS/States) x the mean state transitions (states entered, retries included) of "
    f"up to {SAMPLE_EXECUTIONS} of their histories. SQS: messages sent, received and deleted (AWS/SQS) in requests "
    f"of up to {SQS_BATCH} per minute. DynamoDB, SNS, Logs and X-Ray are not measured."
)


class CostPoint(BaseModel):
    """One bucket: orders finished in it, what was used in it, its cost and its cost per order."""

    at: datetime
    orders: int
    usage: Usage
    cost: Cost
    per_order: Cost | None


class OrderCost(BaseModel):
    """The cost of the orders finished in [since, until]: in all, per order, and per bucket."""

    since: datetime
    until: datetime
    bucket_seconds: int
    orders: int
    usage: Usage
    cost: Cost
    per_order: Cost | None
    transitions_per_execution: Decimal | None
    sampled_executions: int
    points: list[CostPoint]


# --- pure functions ------------------------------------------------------------------------------


def transitions(events: list[dict[str, Any]]) -> int:
    """An execution's billed state transitions: each state entered, and each retry of a task."""
    return run_transitions(timeline(events))


def run_transitions(runs: list[StateRun]) -> int:
    """The billed state transitions of an execution's timeline: each state entered, and each retry of a task."""
    return len(runs) + sum(max(0, run.attempts - 1) for run in runs)


def sqs_requests(messages: float) -> int:
    """The fewest requests that move messages: batches of SQS_BATCH (the app and the event source batch by 10)."""
    return math.ceil(round(messages) / SQS_BATCH)


def bucket_floor(at: datetime, seconds: int) -> datetime:
    """The start of at's bucket on the epoch's grid, where both Insights' bin() and CloudWatch's periods fall."""
    stamp = int(at.timestamp())
    return datetime.fromtimestamp(stamp - stamp % seconds, UTC)


def lambda_usage(report: FunctionsReport) -> dict[datetime, Usage]:
    """Lambda requests and GB-seconds per bucket, over every function."""
    usage: dict[datetime, Usage] = {}
    for function in report.functions:
        for point in function.points:
            assert point.at is not None  # figures() keeps only rows with a bucket
            used = Usage(lambda_requests=point.invocations,
                         lambda_gb_seconds=gb_seconds(point.billed_ms, point.memory_size_mb or 0))  # fmt: skip
            usage[point.at] = usage.get(point.at, Usage()) + used
    return usage


def build(
    since: datetime,
    until: datetime,
    seconds: int,
    lambdas: dict[datetime, Usage],
    finished: dict[datetime, float],
    sqs: dict[datetime, int],
    per_execution: Decimal | None,
    sampled: int,
) -> OrderCost:
    """The window's cost from its usage per bucket: Lambda's, executions finished, SQS requests."""
    points = []
    for at in sorted(set(lambdas) | set(finished) | set(sqs)):
        orders = round(finished.get(at, 0))
        used = lambdas.get(at, Usage()) + Usage(
            state_transitions=orders * (per_execution or Decimal(0)), sqs_requests=sqs.get(at, 0)
        )
        cost = price(used)
        points.append(CostPoint(at=at, orders=orders, usage=used, cost=cost, per_order=cost.per(orders)))
    usage = sum((point.usage for point in points), Usage())
    orders = sum(point.orders for point in points)
    cost = price(usage)
    return OrderCost(since=since, until=until, bucket_seconds=seconds, orders=orders, usage=usage, cost=cost,
                     per_order=cost.per(orders), transitions_per_execution=per_execution, sampled_executions=sampled,
                     points=points)  # fmt: skip


# --- reads ---------------------------------------------------------------------------------------


def _transitions_per_execution(since: datetime) -> tuple[Decimal | None, int]:
    """The mean transitions of the newest executions that finished since (at most SAMPLE_EXECUTIONS), and how many."""
    sfn = aws.client("stepfunctions")
    page = sfn.list_executions(stateMachineArn=aws.resources().state_machine_arn, maxResults=100)
    arns = [item["executionArn"] for item in page.get("executions", [])
            if item.get("stopDate") and item["stopDate"] >= since][:SAMPLE_EXECUTIONS]  # fmt: skip
    if not arns:
        return None, 0
    with ThreadPoolExecutor(max_workers=5) as pool:
        counts = list(pool.map(lambda arn: transitions(history_events(sfn, arn)), arns))
    return Decimal(sum(counts)) / len(counts), len(counts)


@translated
def order_cost(since: datetime, until: datetime, seconds: int) -> OrderCost:
    """The cost per order of [since, until] in buckets of seconds: the functions' Insights queries, one
    GetMetricData call, one ListExecutions and up to SAMPLE_EXECUTIONS GetExecutionHistory calls."""
    since = bucket_floor(since, seconds)
    report = functions_report(since, until, seconds)
    machine = {"StateMachineArn": aws.resources().state_machine_arn}
    queue = {"QueueName": aws.resources().orders_queue_url.rstrip("/").rsplit("/", 1)[-1]}
    queries = [MetricQuery(f"f{i}", "AWS/States", name, machine, "Sum") for i, name in enumerate(_FINISHED)]
    queries += [MetricQuery(f"q{i}", "AWS/SQS", name, queue, "Sum") for i, name in enumerate(_SQS)]
    series = metric_series(queries, since, until, seconds)
    finished: dict[datetime, float] = {}
    sqs: dict[datetime, int] = {}
    for key, values in series.items():
        for at, value in values:
            if key.startswith("f"):
                finished[at] = finished.get(at, 0.0) + value
            else:
                sqs[at] = sqs.get(at, 0) + sqs_requests(value)
    per_execution, sampled = _transitions_per_execution(since)
    return build(since, until, seconds, lambda_usage(report), finished, sqs, per_execution, sampled)
