"""The four Lambda handlers, called as Lambda calls them, against moto in-process."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest
from pydantic import ValidationError

from lambdas.domain.boundary import parse_strict
from lambdas.domain.order import Order, OrderInvalid, OrderRequest, PaymentMethod
from lambdas.domain.payment import PaymentGatewayTimeout
from localaws.services.awslambda.event_source import sqs_event

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:orders"


class Context:
    function_name = "test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "req-1"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


def placed(method: PaymentMethod = PaymentMethod.VISA, **changes: Any) -> Order:
    data = {
        "customer_name": "Ada",
        "customer_email": "ada@example.com",
        "lines": [{"sku": "MUG-CERAMIC", "quantity": 1}],
    }
    return Order.place(OrderRequest.model_validate(data | changes | {"payment_method": method}))


def messages(*bodies: str) -> list[dict[str, Any]]:
    return [{"MessageId": str(uuid.uuid4()), "ReceiptHandle": "rh", "Body": body} for body in bodies]


def executions(state_machine_arn: str) -> list[dict[str, Any]]:
    return boto3.client("stepfunctions").list_executions(stateMachineArn=state_machine_arn)["executions"]


def test_start_order_starts_one_execution_named_by_the_order_id_and_strikes_its_queued_row(
    moto_resources: dict,
) -> None:
    from lambdas import start_order
    from lambdas.domain import ledger

    order, other = placed(), placed()
    dynamodb = boto3.client("dynamodb")
    for oid in (order.order_id, other.order_id):
        dynamodb.put_item(TableName="queued-orders", Item=ledger.key(oid) | {ledger.EXPIRES: {"N": "9999999999"}})
    response = start_order.handler(sqs_event(messages(order.model_dump_json()), QUEUE_ARN), Context())
    assert response == {"batchItemFailures": []}
    started = executions(moto_resources["ORDERS_STATE_MACHINE_ARN"])
    assert [e["name"] for e in started] == [order.order_id]
    rows = dynamodb.scan(TableName="queued-orders")["Items"]
    assert [row[ledger.SORT_KEY]["S"] for row in rows] == [other.order_id]


def test_start_order_treats_a_duplicate_delivery_as_done(moto_resources: dict, capsys: pytest.CaptureFixture) -> None:
    from lambdas import start_order

    body = placed().model_dump_json()
    start_order.handler(sqs_event(messages(body), QUEUE_ARN), Context())
    # The same order delivered again after its run started with another input (e.g. re-sent by hand).
    again = start_order.handler(sqs_event(messages(body, body), QUEUE_ARN), Context())
    assert again == {"batchItemFailures": []}
    assert len(executions(moto_resources["ORDERS_STATE_MACHINE_ARN"])) == 1


def test_start_order_fails_only_the_malformed_messages(moto_resources: dict) -> None:
    from lambdas import start_order

    good = placed()
    batch = messages("not json", good.model_dump_json(), json.dumps({"order_id": "ord_x"}))
    response = start_order.handler(sqs_event(batch, QUEUE_ARN), Context())
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == {
        batch[0]["MessageId"],
        batch[2]["MessageId"],
    }
    assert [e["name"] for e in executions(moto_resources["ORDERS_STATE_MACHINE_ARN"])] == [good.order_id]


def hostile_bodies(order: Order) -> list[str]:
    """Order messages that break a rule the schema enforces (types, text, size, depth)."""
    data = json.loads(order.model_dump_json())
    line = data["lines"][0]
    return [
        json.dumps(data | {"lines": [line | {"quantity": True}]}),
        json.dumps(data | {"lines": [line | {"quantity": "1"}]}),
        json.dumps(data | {"total_cents": float(data["total_cents"])}),
        json.dumps(data | {"customer_name": "Ada\u202e"}),
        json.dumps(data | {"customer_name": "\u200b\u200d"}),
        json.dumps(data | {"payment_method": 4242}),
        json.dumps(data | {"created_at": 1_700_000_000}),
        json.dumps(data | {"extra": 1}),
        "[" * 100_000 + "]" * 100_000,
        json.dumps(data | {"customer_name": "x" * 70_000}),
        r'{"order_id": "\ud800"}',  # an unpaired surrogate, escaped as JSON allows
    ]


def test_start_order_fails_every_hostile_message_and_starts_nothing(moto_resources: dict) -> None:
    from lambdas import start_order

    batch = messages(*hostile_bodies(placed()))
    response = start_order.handler(sqs_event(batch, QUEUE_ARN), Context())
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == {m["MessageId"] for m in batch}
    assert executions(moto_resources["ORDERS_STATE_MACHINE_ARN"]) == []


def test_validate_order_returns_the_normalised_order(moto_resources: dict) -> None:
    from lambdas import validate_order

    order = placed()
    result = validate_order.handler({"order": json.loads(order.model_dump_json())}, Context())
    assert parse_strict(Order, result["order"]) == order


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"order": {"order_id": "x"}}, "order_id"),
        ({}, "order: must be an object, not null"),
        ("garbage", "order: must be an object, not null"),
        ({"order": [[[[[[[[[[]]]]]]]]]]}, "order: must not nest more than 8 levels deep"),
        ({"order": {"customer_name": "x" * 70_000}}, "order: must be at most 65,536 bytes"),
    ],
)
def test_validate_order_rejects_bad_input_with_order_invalid(moto_resources: dict, event: Any, message: str) -> None:
    from lambdas import validate_order

    with pytest.raises(OrderInvalid, match=message):
        validate_order.handler(event, Context())


def test_validate_order_rejects_over_stock(moto_resources: dict) -> None:
    from lambdas import validate_order

    order = placed(lines=[{"sku": "LIMITED-PRINT", "quantity": 3}])
    with pytest.raises(OrderInvalid, match="only 2 of LIMITED-PRINT in stock"):
        validate_order.handler({"order": json.loads(order.model_dump_json())}, Context())


def test_process_payment_charges_once_per_order(moto_resources: dict) -> None:
    from lambdas import process_payment

    event = {"order": json.loads(placed().model_dump_json()), "attempt": 0}
    first = process_payment.handler(event, Context())
    again = process_payment.handler(event | {"attempt": 1}, Context())
    assert first["status"] == "APPROVED"
    assert again == first
    records = boto3.client("dynamodb").scan(TableName="order-payments")["Items"]
    assert len(records) == 1
    assert records[0]["status"]["S"] == "COMPLETED"


def test_process_payment_records_a_decline_and_returns_it_again(moto_resources: dict) -> None:
    from lambdas import process_payment

    event = {"order": json.loads(placed(PaymentMethod.DECLINED).model_dump_json()), "attempt": 0}
    first = process_payment.handler(event, Context())
    assert (first["status"], first["decline_reason"]) == ("DECLINED", "card_declined")
    assert process_payment.handler(event, Context()) == first


def test_process_payment_timeout_is_not_recorded_so_the_retry_charges(moto_resources: dict) -> None:
    from lambdas import process_payment

    event = {"order": json.loads(placed(PaymentMethod.TIMEOUT_ONCE).model_dump_json()), "attempt": 0}
    with pytest.raises(PaymentGatewayTimeout):
        process_payment.handler(event, Context())
    assert process_payment.handler(event | {"attempt": 1}, Context())["status"] == "APPROVED"


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"order": {}},
        {"order": "x", "attempt": -1},
        {"order": json.loads(placed().model_dump_json()), "attempt": True},
        {"order": json.loads(placed().model_dump_json()), "attempt": "0"},
        {"order": json.loads(placed().model_dump_json()) | {"total_cents": "1200"}, "attempt": 0},
        {"order": [[[[[[[[[[]]]]]]]]]], "attempt": 0},
    ],
)
def test_process_payment_rejects_malformed_input(moto_resources: dict, event: dict) -> None:
    from lambdas import process_payment

    with pytest.raises(ValidationError):
        process_payment.handler(event, Context())
    assert boto3.client("dynamodb").scan(TableName="order-payments")["Items"] == []


@pytest.mark.parametrize(
    ("event", "expected_text"),
    [
        (
            {"kind": "CONFIRMED", "payment": {"status": "APPROVED", "payment_id": "pay_1", "amount_cents": 1200}},
            "USD 12.00 was charged",
        ),
        (
            {
                "kind": "DECLINED",
                "payment": {
                    "status": "DECLINED",
                    "payment_id": "pay_1",
                    "amount_cents": 1200,
                    "decline_reason": "card_declined",
                },
            },
            "declined (card_declined)",
        ),
        (
            {
                "kind": "REJECTED",
                "error": {"Error": "OrderInvalid", "Cause": json.dumps({"errorMessage": "only 2 left"})},
            },
            "could not be accepted: only 2 left",
        ),
        ({"kind": "FAILED", "error": {"Error": "States.Timeout", "Cause": "x"}}, "you have not been charged"),
    ],
)
def test_send_notification_publishes_the_outcome(moto_resources: dict, event: dict, expected_text: str) -> None:
    from lambdas import send_notification

    order = placed()
    result = send_notification.handler(event | {"order": json.loads(order.model_dump_json())}, Context())
    assert result["kind"] == event["kind"]
    assert result["message_id"]
    received = boto3.client("sqs").receive_message(QueueUrl=moto_resources["outbox_url"])["Messages"]
    envelope = json.loads(received[0]["Body"])
    assert expected_text in envelope["Message"]
    assert order.order_id in envelope["Message"]
    assert envelope["MessageId"] == result["message_id"]


@pytest.mark.parametrize(
    "event",
    [
        {"kind": "confirmed"},
        {"kind": "FAILED", "error": {"Error": 1}},
        {"kind": "FAILED", "error": {"Error": "States.Timeout", "Cause": "x" * 300_000}},
        {"kind": "CONFIRMED", "payment": {"status": "APPROVED", "payment_id": "p", "amount_cents": "1200"}},
    ],
)
def test_send_notification_rejects_malformed_input(moto_resources: dict, event: dict) -> None:
    from lambdas import send_notification

    with pytest.raises(ValidationError):
        send_notification.handler(event | {"order": json.loads(placed().model_dump_json())}, Context())
    assert boto3.client("sqs").receive_message(QueueUrl=moto_resources["outbox_url"]).get("Messages", []) == []


def test_start_order_counts_a_failed_start_on_the_orders_row_and_leaves_a_gone_row_gone(moto_resources: dict) -> None:
    from lambdas import start_order
    from lambdas.domain import ledger

    named, gone = placed().order_id, placed().order_id
    dynamodb = boto3.client("dynamodb")
    dynamodb.put_item(TableName="queued-orders", Item=ledger.key(named) | {ledger.EXPIRES: {"N": "9999999999"}})
    batch = [
        message | {"Attributes": {"ApproximateReceiveCount": "5"}}
        for message in messages(json.dumps({"order_id": named, "not": "an order"}), json.dumps({"order_id": gone}))
    ]
    response = start_order.handler(sqs_event(batch, QUEUE_ARN), Context())
    assert len(response["batchItemFailures"]) == 2
    row = dynamodb.get_item(TableName="queued-orders", Key=ledger.key(named))["Item"]
    assert row[ledger.RECEIVES] == {"N": "5"}
    assert float(row[ledger.RECEIVED_AT]["N"]) > 0
    assert "Item" not in dynamodb.get_item(TableName="queued-orders", Key=ledger.key(gone))


class Died(BaseException):
    """The starter's process ending mid-start (a timeout, out of memory): nothing in the handler runs after it."""


def test_start_order_counts_a_redelivery_before_trying_the_start_so_a_starter_that_dies_leaves_the_count(
    moto_resources: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambdas import start_order
    from lambdas.domain import ledger

    order, dynamodb = placed(), boto3.client("dynamodb")
    row_item = ledger.key(order.order_id) | {ledger.EXPIRES: {"N": "9999999999"}}
    dynamodb.put_item(TableName="queued-orders", Item=row_item)

    def dies(*_: Any) -> None:
        raise Died

    monkeypatch.setattr(start_order, "start_workflow", dies)
    for receives in ("1", "2"):
        batch = [m | {"Attributes": {"ApproximateReceiveCount": receives}} for m in messages(order.model_dump_json())]
        with pytest.raises(Died):
            start_order.handler(sqs_event(batch, QUEUE_ARN), Context())
    row = dynamodb.get_item(TableName="queued-orders", Key=ledger.key(order.order_id))["Item"]
    assert row[ledger.RECEIVES] == {"N": "2"}  # the first receive died uncounted; the second was counted first


def test_a_redelivered_order_is_started_even_when_its_receive_cannot_be_counted(
    moto_resources: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambdas import start_order

    def unavailable(*_: Any) -> None:
        raise RuntimeError("the ledger table is unavailable")

    monkeypatch.setattr(start_order.ledger, "mark_receive", unavailable)
    order = placed()
    batch = [m | {"Attributes": {"ApproximateReceiveCount": "3"}} for m in messages(order.model_dump_json())]
    assert start_order.handler(sqs_event(batch, QUEUE_ARN), Context()) == {"batchItemFailures": []}
    assert [e["name"] for e in executions(moto_resources["ORDERS_STATE_MACHINE_ARN"])] == [order.order_id]


def test_a_receive_is_counted_once_and_a_redriven_message_counts_again_from_one(moto_resources: dict) -> None:
    from lambdas.domain import ledger

    order_id, dynamodb = placed().order_id, boto3.client("dynamodb")
    dynamodb.put_item(TableName="queued-orders", Item=ledger.key(order_id) | {ledger.EXPIRES: {"N": "9999999999"}})

    def row() -> tuple[str, str]:
        item = dynamodb.get_item(TableName="queued-orders", Key=ledger.key(order_id))["Item"]
        return item[ledger.RECEIVES]["N"], item[ledger.RECEIVED_AT]["N"]

    ledger.mark_receive(dynamodb, "queued-orders", order_id, 5, 100.0)
    ledger.mark_receive(dynamodb, "queued-orders", order_id, 5, 130.0)  # its failed start: the receive was at 100
    assert row() == ("5", "100.000")
    ledger.mark_receive(dynamodb, "queued-orders", order_id, 1, 400.0)
    assert row() == ("1", "400.000")
