"""The real workflow on the embedded local AWS: every branch, duplicates, poison messages, telemetry."""

from __future__ import annotations

import json
from typing import Any

import pytest

import backend
from backend import aws
from backend.executions import Outcome
from lambdas.domain.order import Order, PaymentMethod
from tests.conftest import metric_sum, operator_caller, poll
from tests.conftest import order_request as request


def finished(order_id: str) -> backend.OrderDetail | None:
    try:
        detail = backend.get_order(order_id)
    except backend.NotFound:
        return None
    return detail if detail.outcome.terminal else None


def states(detail: backend.OrderDetail) -> list[tuple[str, str]]:
    return [(run.name, run.status) for run in detail.timeline]


@pytest.fixture(scope="module")
def branch_orders(local_aws: Any) -> dict[str, backend.OrderDetail]:
    """One order down each branch of the workflow, submitted together."""
    cases = {
        "success": request(),
        "rejected": request(lines=[{"sku": "LIMITED-PRINT", "quantity": 3}]),
        "declined": request(PaymentMethod.DECLINED),
        "transient_then_success": request(PaymentMethod.TIMEOUT_ONCE),
        "transient_exhausted": request(PaymentMethod.TIMEOUT_ALWAYS),
    }
    placed = dict(zip(cases, backend.submit_orders(list(cases.values()), caller=operator_caller()), strict=True))
    return {case: poll(lambda o=order: finished(o.order_id), timeout=60, what=case) for case, order in placed.items()}


def test_success_is_paid_and_notified(branch_orders: dict) -> None:
    detail = branch_orders["success"]
    assert detail.outcome is Outcome.SUCCEEDED
    assert states(detail) == [
        ("ValidateOrder", "SUCCEEDED"),
        ("ProcessPayment", "SUCCEEDED"),
        ("PaymentApproved?", "SUCCEEDED"),
        ("NotifyConfirmed", "SUCCEEDED"),
        ("OrderCompleted", "SUCCEEDED"),
    ]
    assert detail.output["payment"]["status"] == "APPROVED"
    assert detail.output["payment"]["amount_cents"] == 4_900
    assert detail.output["notification"]["message_id"]
    assert all(run.exited_at >= run.entered_at for run in detail.timeline)


def test_invalid_order_is_rejected_after_telling_the_customer(branch_orders: dict) -> None:
    detail = branch_orders["rejected"]
    assert detail.outcome is Outcome.REJECTED
    assert states(detail) == [("ValidateOrder", "FAILED"), ("NotifyRejected", "SUCCEEDED"), ("OrderRejected", "FAILED")]
    assert detail.timeline[0].error == "OrderInvalid"
    assert "only 2 of LIMITED-PRINT in stock" in detail.cause
    assert detail.error == "OrderRejected"


def test_declined_payment_fails_as_payment_declined(branch_orders: dict) -> None:
    detail = branch_orders["declined"]
    assert detail.outcome is Outcome.DECLINED
    assert (detail.error, detail.cause) == ("PaymentDeclined", "card_declined")
    assert [name for name, _ in states(detail)][-2:] == ["NotifyDeclined", "PaymentDeclined"]


def test_gateway_timeout_is_retried_then_succeeds(branch_orders: dict) -> None:
    detail = branch_orders["transient_then_success"]
    assert detail.outcome is Outcome.SUCCEEDED
    payment = next(run for run in detail.timeline if run.name == "ProcessPayment")
    assert payment.attempts == 2
    assert payment.failed_attempts == ["PaymentGatewayTimeout"]
    assert payment.status == "SUCCEEDED"


def test_exhausted_retries_notify_then_fail(branch_orders: dict) -> None:
    detail = branch_orders["transient_exhausted"]
    assert detail.outcome is Outcome.FAILED
    payment = next(run for run in detail.timeline if run.name == "ProcessPayment")
    assert payment.attempts == 3  # the first try and MaxAttempts 2 retries
    assert payment.error == "PaymentGatewayTimeout"
    assert [name for name, _ in states(detail)][-2:] == ["NotifyFailed", "OrderFailed"]
    assert detail.error == "OrderFailed"


def test_recent_orders_lists_them_newest_first_with_outcomes(branch_orders: dict) -> None:
    recent = {summary.order_id: summary for summary in backend.list_orders(limit=50)}
    for detail in branch_orders.values():
        assert recent[detail.order_id].outcome is detail.outcome
    started = [summary.started_at for summary in backend.list_orders(limit=50)]
    assert started == sorted(started, reverse=True)


def test_duplicate_delivery_runs_the_order_once(local_aws: Any) -> None:
    order = Order.place(request())
    sqs = aws.client("sqs")
    send = lambda: sqs.send_message(QueueUrl=aws.resources().orders_queue_url, MessageBody=order.model_dump_json())  # noqa: E731
    before = cloudwatch_sum("OrderPipeline", "DuplicateDeliveries", {"service": "order-pipeline"})
    for _ in range(3):  # delivered together: the later starts get the running execution back, as on AWS
        send()
    poll(lambda: finished(order.order_id), timeout=30, what="the order")
    for _ in range(2):  # delivered again after the run ended: ExecutionAlreadyExists, counted as duplicates
        send()
    poll(lambda: queue_empty(sqs), timeout=30, what="the duplicates to be consumed")
    sfn = aws.client("stepfunctions")
    names = [e["name"] for e in sfn.list_executions(stateMachineArn=aws.resources().state_machine_arn)["executions"]]
    assert names.count(order.order_id) == 1
    dimensions = {"service": "order-pipeline"}
    poll(lambda: cloudwatch_sum("OrderPipeline", "DuplicateDeliveries", dimensions) >= before + 2, what="the metric")


def queue_empty(sqs: Any) -> bool:
    attributes = sqs.get_queue_attributes(QueueUrl=aws.resources().orders_queue_url, AttributeNames=["All"])[
        "Attributes"
    ]
    return (
        attributes["ApproximateNumberOfMessages"] == "0" and attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    )


@pytest.mark.parametrize("body", ["not json at all", json.dumps({"order_id": "ord_x", "lines": []})])
def test_poison_message_ends_in_the_dead_letter_queue(local_aws: Any, body: str) -> None:
    sqs = aws.client("sqs")
    sqs.send_message(QueueUrl=aws.resources().orders_queue_url, MessageBody=body)

    def in_dlq() -> list[dict]:
        found = sqs.receive_message(
            QueueUrl=aws.resources().dead_letter_queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        ).get("Messages", [])
        return [m for m in found if m["Body"] == body]

    moved = poll(in_dlq, timeout=60, what="the poison message in the DLQ")
    assert int(moved[0]["Attributes"]["ApproximateReceiveCount"]) >= 5
    sqs.delete_message(QueueUrl=aws.resources().dead_letter_queue_url, ReceiptHandle=moved[0]["ReceiptHandle"])


def test_invalid_input_is_refused_and_nothing_is_sent(local_aws: Any) -> None:
    before = backend.queue_depth()
    with pytest.raises(backend.InvalidOrders) as caught:
        backend.submit_orders(
            [request().model_dump(), {"customer_name": "", "customer_email": "x", "lines": []}],
            caller=operator_caller(),
        )
    assert set(caught.value.errors) == {1}
    assert "customer_email" in str(caught.value)
    assert backend.queue_depth()["visible"] <= before["visible"]


def cloudwatch_sum(namespace: str, name: str, dimensions: dict[str, str]) -> float:
    return metric_sum(aws.client("cloudwatch"), namespace, name, dimensions)


def test_aws_and_lambda_telemetry_is_recorded(branch_orders: dict) -> None:
    state_machine = {"StateMachineArn": aws.resources().state_machine_arn}
    assert poll(lambda: cloudwatch_sum("AWS/States", "ExecutionsSucceeded", state_machine) >= 2, what="AWS/States")
    assert poll(lambda: cloudwatch_sum("AWS/States", "ExecutionsFailed", state_machine) >= 3, what="AWS/States failed")
    validate = {"FunctionName": aws.resources().function_names["validate_order"]}
    assert poll(lambda: cloudwatch_sum("AWS/Lambda", "Invocations", validate) >= 5, what="AWS/Lambda")
    assert cloudwatch_sum("AWS/Lambda", "Errors", validate) >= 1
    logs = aws.client("logs")
    order_id = branch_orders["success"].order_id
    events = logs.filter_log_events(
        logGroupName=f"/aws/lambda/{validate['FunctionName']}", filterPattern=f'"{order_id}"'
    )
    assert any("order valid" in event["message"] for event in events["events"])
