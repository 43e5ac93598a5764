"""An order id answers for itself: its execution, queued behind N others, purged, lost in a reset, expired, unknown."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ulid import ULID

from backend import aws, ledger, lookup, orders, queues, sandbox
from lambdas.domain.order import new_order_id, placed_at
from tests.conftest import before_purge, operator_caller, order_request, poll


@contextmanager
def starter_paused() -> Iterator[None]:
    """The starter's event-source mapping disabled (and enabled again after), as an operator would on AWS."""
    lambda_api = aws.client("lambda")
    starter = aws.resources().function_names["start_order"]
    (mapping,) = lambda_api.list_event_source_mappings(FunctionName=starter)["EventSourceMappings"]
    assert lambda_api.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)["State"] in {
        "Disabling",
        "Disabled",
    }
    try:
        poll(
            lambda: lambda_api.get_event_source_mapping(UUID=mapping["UUID"])["State"] == "Disabled",
            what="the starter's pollers to stop",
        )
        yield
    finally:
        lambda_api.update_event_source_mapping(UUID=mapping["UUID"], Enabled=True)


def order_id_placed_at(at: datetime) -> str:
    return "ord_" + str(ULID.from_datetime(at)).lower()


def test_queued_orders_say_how_many_are_ahead_and_start_once_the_starter_polls_again(local_aws: Any) -> None:
    with starter_paused():
        placed = orders.submit_orders([order_request()] * 3, caller=operator_caller())
        # Ids sort by placing time; within one millisecond, at random (as SQS delivers a standard queue's messages).
        placed.sort(key=lambda order: order.order_id)
        found = [lookup.locate(order.order_id) for order in placed]
        assert [type(answer) for answer in found] == [lookup.Queued] * 3
        first = found[0].ahead
        assert [answer.ahead for answer in found] == [first, first + 1, first + 2]  # the third has two more ahead
        assert found[2].placed_at == placed_at(placed[2].order_id)
        assert f"{first + 2:,} orders ahead of it" in found[2].describe()
        # Disabled means disabled: the messages wait in the queue, none is in a starter's hands.
        assert orders.queue_depth()["in_flight"] == 0
        assert orders.queue_depth()["visible"] >= 3

    for order in placed:
        detail = poll(lambda oid=order.order_id: _executed(oid), timeout=60, what="the order's execution")
        assert detail.order_id == order.order_id
        poll(lambda oid=order.order_id: ledger.find(oid) is None, what="the starter to strike the row")


def _executed(order_id: str) -> Any:
    found = lookup.locate(order_id)
    return found if isinstance(found, orders.OrderDetail) else None


def test_an_order_purged_from_the_queue_says_so_and_no_longer_counts_ahead(local_aws: Any) -> None:
    with starter_paused():
        purged, *_ = orders.submit_orders([order_request()] * 2, caller=operator_caller())
        name = queues.queue_name(aws.resources().orders_queue_url)
        before_purge(aws.resources().orders_queue_url)
        queues.purge("orders", operator_caller(), name)
        found = lookup.locate(purged.order_id)
        assert isinstance(found, lookup.Purged)
        assert found.purged_at >= placed_at(purged.order_id) - timedelta(seconds=1)
        assert "purged from the orders queue at" in found.describe()
        (after,) = orders.submit_orders([order_request()], caller=operator_caller())
        queued = lookup.locate(after.order_id)
        assert isinstance(queued, lookup.Queued)
        assert queued.ahead == 0  # the purged ones are not ahead of it
    poll(lambda: _executed(after.order_id), timeout=60, what="the order placed after the purge to start")


def test_an_id_never_placed_is_unknown_and_a_malformed_one_names_the_rule(local_aws: Any) -> None:
    unknown = lookup.locate(new_order_id())
    assert isinstance(unknown, lookup.Unknown)
    assert unknown.describe().startswith("Unknown order id ord_")
    with pytest.raises(lookup.InvalidOrderId, match="must be 'ord_' and a 26-character lower-case ULID"):
        lookup.locate("ord_doesnotexist")


def test_an_id_older_than_the_local_aws_keeps_has_expired(local_aws: Any) -> None:
    found = lookup.locate(order_id_placed_at(datetime.now(UTC) - timedelta(hours=25)))
    assert isinstance(found, lookup.Expired)
    assert found.rule == "the local AWS keeps execution records for 24 h"
    assert found.kept_since > found.placed_at
    assert "UTC" in found.describe()


def test_an_order_placed_before_a_reset_was_lost_in_it(own_local_aws: Path) -> None:
    (lost,) = orders.submit_orders([order_request()], caller=operator_caller())

    after = sandbox.reset(operator_caller())

    found = lookup.locate(lost.order_id)
    assert isinstance(found, lookup.LostInReset)
    assert found.reset_at == after.last_reset
    assert f"reset at {found.reset_at:%Y-%m-%d %H:%M:%S} UTC" in found.describe()
    assert isinstance(lookup.locate(new_order_id()), lookup.Unknown)  # placed after the reset
