"""kill -9 of the local AWS in the middle of a burst: no acknowledged order is lost, none is charged twice."""

from __future__ import annotations

import collections
import os
import random
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backend import aws, orders
from backend.executions import Outcome
from backend.samples import expected_outcome, random_requests
from backend.settings import settings
from localaws import instance, journal
from tests.conftest import _APP_SETTINGS, TEST_VISIBILITY_TIMEOUT, poll

BURST = 300


@pytest.fixture
def own_local_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A local AWS of this test only (it gets killed): its own state folder and port; the session's is left alone."""
    for name in _APP_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ORDERS_LOCAL_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("ORDERS_LOCAL_PORT", "0")
    monkeypatch.setenv("ORDERS_LOCAL_PARAMETERS", "StartOrderBatchingWindowSeconds=0")
    settings.cache_clear()
    aws.reset()
    try:
        yield tmp_path
    finally:
        instance.stop_running()
        monkeypatch.undo()
        settings.cache_clear()
        aws.reset()


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
    placed = orders.submit_orders(random_requests(BURST, random.Random(7)))  # every one acknowledged by SendMessage
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
