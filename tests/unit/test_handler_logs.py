"""The handlers' log lines carry the order id as Powertools' correlation id, and never the previous order's."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from lambdas.domain.order import OrderInvalid
from tests.unit.test_handlers import Context, placed


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """What the handlers' logger writes (it holds on to the stdout of the test that first imported it)."""
    from lambdas.observability import logger

    stream = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", stream)
    return stream


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    """The structured log lines written so far."""
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_validate_order_tags_a_rejection_with_its_own_order_not_the_previous_one(
    moto_resources: dict, logged: io.StringIO
) -> None:
    from lambdas import validate_order

    valid, over_stock = placed(), placed(lines=[{"sku": "LIMITED-PRINT", "quantity": 2}])
    validate_order.handler({"order": json.loads(valid.model_dump_json())}, Context())
    rejected = json.loads(over_stock.model_dump_json())
    rejected["lines"][0]["quantity"] = 3  # over stock, with a well-formed id
    with pytest.raises(OrderInvalid):
        validate_order.handler({"order": rejected}, Context())
    first, second = lines(logged)
    assert (first["message"], first["correlation_id"], first["order_id"]) == (
        "order valid",
        valid.order_id,
        valid.order_id,
    )
    assert (second["message"], second["correlation_id"]) == ("order rejected", over_stock.order_id)


def test_a_malformed_order_id_is_not_used_as_correlation_id(moto_resources: dict, logged: io.StringIO) -> None:
    from lambdas import validate_order

    with pytest.raises(OrderInvalid):
        validate_order.handler({"order": {"order_id": "ord_\u202e<script>"}}, Context())
    (line,) = lines(logged)
    assert "correlation_id" not in line
    assert "order_id" not in line


def test_send_notification_logs_what_the_customer_was_told(moto_resources: dict, logged: io.StringIO) -> None:
    from lambdas import send_notification

    order = placed()
    event = {
        "kind": "DECLINED",
        "order": json.loads(order.model_dump_json()),
        "payment": {"status": "DECLINED", "payment_id": "p1", "amount_cents": 1200, "decline_reason": "card_declined"},
    }
    send_notification.handler(event, Context())
    (line,) = lines(logged)
    assert line["message"] == "notification sent"
    assert line["correlation_id"] == order.order_id
    assert line["kind"] == "DECLINED"
    assert line["text"] == f"Order {order.order_id} was not placed: the payment was declined (card_declined)."
    assert line["subject"] == f"Order {order.order_id}: declined"
