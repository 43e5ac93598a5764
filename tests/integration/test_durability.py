"""A local AWS that dies (kill -9) in the middle of a burst loses no acknowledged order and charges none twice."""

from __future__ import annotations

import collections
import hashlib
import json
import os
import random
import signal
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import backend
from backend import alarms, aws, monitoring, order_logs, orders
from backend.demo.samples import expected_outcome, random_requests
from backend.executions import Outcome
from lambdas.domain.order import Order
from localaws import instance, journal
from tests.conftest import (
    TEST_VISIBILITY_TIMEOUT,
    operator_caller,
    order_request,
    poll,
    settled_kpis,
)

BURST = 200


def journaled(state_dir: Path, sql: str) -> Any:
    with sqlite3.connect(state_dir / journal.FILE_NAME) as reader:
        return reader.execute(sql).fetchone()[0]


def payment_records() -> dict[str, dict[str, Any]]:
    """The idempotency table: one record per charged order, rewritten (new expiration) whenever it charges again."""
    table = aws.client("dynamodb")
    name = aws.connection().resources.payments_table_name
    pages = table.get_paginator("scan").paginate(TableName=name)
    return {item["id"]["S"]: item for page in pages for item in page["Items"]}


def test_kill_9_in_a_burst_loses_no_acknowledged_order_and_charges_none_twice(own_local_aws: Path) -> None:
    aws.client("sqs").set_queue_attributes(
        QueueUrl=aws.connection().resources.orders_queue_url,
        Attributes={"VisibilityTimeout": str(TEST_VISIBILITY_TIMEOUT)},
    )
    first = instance.running()
    assert first is not None
    # Every one acknowledged by SendMessage.
    placed = orders.submit_orders(random_requests(BURST, random.Random(7)), caller=operator_caller())
    poll(lambda: journaled(own_local_aws, "SELECT count(*) FROM executions WHERE status != 'RUNNING'") >= BURST // 4,
         timeout=120, interval=0.05, what="a quarter of the orders to finish")  # fmt: skip
    charged_before = {key: item for key, item in payment_records().items() if item["status"]["S"] == "COMPLETED"}
    os.kill(first.pid, signal.SIGKILL)
    poll(lambda: not instance.running(), timeout=10, what="the local AWS to die")

    unfinished = journaled(own_local_aws, "SELECT count(*) FROM executions WHERE status = 'RUNNING'")
    queued = journaled(own_local_aws, "SELECT count(*) FROM messages")
    assert unfinished + queued > 0, "the kill came too late to test anything"

    aws.reset()
    aws.connection()  # starts it again, as the next command would
    second = instance.running()
    assert second is not None
    assert second.boot_id != first.boot_id
    assert (second.restored["messages"], second.restored["executions_continued"]) == (queued, unfinished)

    results = orders.wait_for_orders([order.order_id for order in placed], timeout_seconds=180)
    outcomes = {order.order_id: (expected_outcome(order), results[order.order_id].outcome) for order in placed}
    assert {oid: pair for oid, pair in outcomes.items() if pair[0] is not pair[1]} == {}
    sfn = aws.client("stepfunctions")
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=aws.connection().resources.state_machine_arn)
    executions = collections.Counter(item["name"] for page in pages for item in page["executions"])
    assert executions == collections.Counter(order.order_id for order in placed)  # each exactly once

    charged_after = payment_records()
    # Powertools rewrites a record (and its expiration) whenever it charges: one charged before the kill is unchanged.
    assert {key: charged_after.get(key) for key in charged_before} == charged_before
    charged = {Outcome.SUCCEEDED, Outcome.DECLINED}  # rejected orders are not charged; a timed-out charge is undone
    assert len(charged_after) == sum(1 for expected, _ in outcomes.values() if expected in charged)


def test_after_a_kill_9_an_orders_logs_history_the_metrics_and_the_alarms_are_what_they_were(
    own_local_aws: Path,
) -> None:
    aws.connection()  # starts it
    first = instance.running()
    assert first is not None
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    # The DLQ alarm fires on these (a client's PutMetricData); minutes ahead too, so it stays on past the restart.
    (dlq_alarm,) = [alarm for alarm in alarms.stack_alarms() if alarm.label == "DeadLetterQueueNotEmptyAlarm"]
    dlq = aws.resources().dead_letter_queue_url.rsplit("/", 1)[-1]
    aws.client("cloudwatch").put_metric_data(Namespace="AWS/SQS", MetricData=[
        {"MetricName": "ApproximateNumberOfMessagesVisible", "Dimensions": [{"Name": "QueueName", "Value": dlq}],
         "Value": 1.0, "Timestamp": now + timedelta(minutes=offset)}
        for offset in range(-3, 7)
    ])  # fmt: skip
    placed = orders.submit_orders(random_requests(4, random.Random(3)), caller=operator_caller())
    orders.wait_for_orders([order.order_id for order in placed], timeout_seconds=120)
    order_id = next(order.order_id for order in placed if expected_outcome(order) is Outcome.SUCCEEDED)
    poll(lambda: [a.state for a in alarms.stack_alarms() if a.name == dlq_alarm.name] == ["ALARM"], timeout=60,
         what="the DLQ alarm to fire")  # fmt: skip
    settled_kpis()  # the telemetry has flushed every log line and datapoint; each is committed milliseconds later
    since, until = now - timedelta(minutes=10), now + timedelta(minutes=10)

    def shown() -> dict[str, Any]:
        """What the pages show: an order's history and log lines, the metrics, the stack's alarms."""
        detail = backend.get_order(order_id)
        return {
            "order": detail,
            "logs": order_logs.for_order(order_id, detail.stopped_at),
            "report": monitoring.window_report(since, until),
            "lambda": monitoring.lambda_metrics(since, until, 60),
            "alarms": alarms.stack_alarms(),
        }

    before = shown()
    assert len({line.function for line in before["logs"]}) == 4  # every function of the pipeline logged it
    assert before["report"].kpis.succeeded >= 1
    assert before["order"].timeline
    assert before["order"].history_note is None
    assert journaled(own_local_aws, "SELECT count(*) FROM alarm_states WHERE state = 'ALARM'") >= 1
    os.kill(first.pid, signal.SIGKILL)
    poll(lambda: not instance.running(), timeout=10, what="the local AWS to die")

    aws.reset()
    aws.connection()
    second = instance.running()
    assert second is not None
    assert (
        min(second.restored[what] for what in ("log_events", "datapoints", "alarm_states", "executions_finished")) > 0
    )
    assert shown() == before


def test_a_charge_that_died_mid_way_holds_the_order_until_its_timeout_then_is_retried(local_aws: Any) -> None:
    """What a restart leaves behind when it killed a payment attempt: the order's idempotency record IN_PROGRESS."""
    order = Order.place(order_request())
    # Powertools' key: <function>.<module>.<function name>#md5(JSON of the order id).
    digest = hashlib.md5(json.dumps(order.order_id).encode()).hexdigest()  # noqa: S324 - Powertools' own choice
    key = f"{aws.connection().stack_name}-process-payment.lambdas.process_payment.charge_once#{digest}"
    held_until = time.time() + 10  # the dead attempt's remaining time: longer than the order takes to reach payment
    aws.client("dynamodb").put_item(
        TableName=aws.connection().resources.payments_table_name,
        Item={
            "id": {"S": key},
            "status": {"S": "INPROGRESS"},
            "expiration": {"N": str(int(held_until) + 3600)},
            "in_progress_expiration": {"N": str(int(held_until * 1000))},
        },
    )
    aws.client("sqs").send_message(QueueUrl=aws.resources().orders_queue_url, MessageBody=order.model_dump_json())
    detail = poll(lambda: _finished(order.order_id), timeout=60, what="the order")
    assert detail.outcome is Outcome.SUCCEEDED
    payment = next(run for run in detail.timeline if run.name == "ProcessPayment")
    assert set(payment.failed_attempts) == {"IdempotencyAlreadyInProgressError"}
    assert detail.stopped_at.timestamp() > held_until
    record = aws.client("dynamodb").get_item(
        TableName=aws.connection().resources.payments_table_name, Key={"id": {"S": key}}
    )["Item"]
    assert record["status"]["S"] == "COMPLETED"


def _finished(order_id: str) -> Any:
    try:
        detail = backend.get_order(order_id)
    except backend.NotFound:
        return None
    return detail if detail.outcome.terminal else None


def test_a_reset_starts_the_sandbox_empty_and_says_when(own_local_aws: Path) -> None:
    from backend import sandbox
    from backend.identity import Caller, Forbidden, Role

    before = sandbox.status()
    assert before is not None
    assert before.last_reset is None
    orders.submit_orders([order_request()], caller=operator_caller())
    with pytest.raises(Forbidden, match="needs the operator role"):
        sandbox.reset(Caller(subject="v", role=Role.VIEWER))

    after = sandbox.reset(operator_caller())

    assert after.boot_id != before.boot_id
    assert after.last_reset is not None
    assert after.last_reset >= before.started_at
    assert not any(after.restored.values())
    assert backend.queue_depth() == {"visible": 0, "in_flight": 0}
    machine = aws.connection().resources.state_machine_arn
    assert aws.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"] == []
