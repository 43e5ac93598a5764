"""The queued-orders ledger: rows go in before their messages, out for what SQS refused; counts and purge marks."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from backend import aws, ledger, orders
from backend.errors import BackendError
from lambdas.domain import ledger as rows_of
from lambdas.domain.order import new_order_id
from tests.conftest import operator_caller, order_request


@pytest.fixture
def ledger_in_moto(moto_resources: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The backend pointed at moto's queue and ledger table."""
    resources = aws.Resources(
        orders_queue_url=moto_resources["queue_url"],
        state_machine_arn=moto_resources["ORDERS_STATE_MACHINE_ARN"],
        queued_orders_table_name=moto_resources["QUEUED_ORDERS_TABLE_NAME"],
    )
    monkeypatch.setattr(aws, "resources", lambda: resources)
    monkeypatch.setattr(aws, "client", lambda service: boto3.client(service))
    return moto_resources


def rows() -> set[str]:
    items = boto3.client("dynamodb").scan(TableName="queued-orders")["Items"]
    return {item[rows_of.SORT_KEY]["S"] for item in items}


def test_rows_are_written_before_sending_and_removed_for_what_sqs_refused(
    ledger_in_moto: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen_when_sending: list[set[str]] = []

    def refuse_the_second(sqs: Any, queue_url: str, batch: list[Any]) -> dict[str, str]:
        seen_when_sending.append(rows())
        return {batch[1].order_id: "refused"}

    monkeypatch.setattr(orders, "_send_batch", refuse_the_second)
    with pytest.raises(BackendError, match=r"Not queued: ord_\w+ \(refused\)") as raised:
        orders.submit_orders([order_request()] * 3, caller=operator_caller())
    queued = raised.value.args[0].split("Queued before the failure: ")[1].rstrip(".").split(", ")
    assert len(seen_when_sending) == 1
    assert len(seen_when_sending[0]) == 3  # every row was there before its message went
    assert rows() == set(queued)  # the refused one's row is gone


def test_ahead_counts_the_live_rows_before_an_order_and_a_purge_marks_them(ledger_in_moto: dict[str, Any]) -> None:
    first, second, third = sorted(new_order_id() for _ in range(3))  # within a millisecond, ULIDs sort at random
    expires = int(time.time()) + 3600
    assert ledger.add([first, second, third], expires) == {}
    assert ledger.add([new_order_id()], int(time.time()) - 1) == {}  # expired: DynamoDB may not have deleted it yet
    assert [ledger.ahead_of(order_id) for order_id in (first, second, third)] == [0, 1, 2]
    assert ledger.find(third) == ledger.Row(order_id=third)

    assert ledger.mark_purged(datetime.now(UTC)) == 4
    after = new_order_id()
    ledger.add([after], expires)
    assert ledger.find(first).purged_at is not None
    assert ledger.ahead_of(after) == 0
    ledger.remove([after])
    assert ledger.find(after) is None
