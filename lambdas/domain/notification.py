"""Customer notifications: what each workflow outcome tells the customer, published to SNS."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from lambdas.domain.order import format_money
from lambdas.domain.payment import PaymentResult


class NotificationKind(StrEnum):
    """Which outcome the notification reports."""

    CONFIRMED = "CONFIRMED"
    DECLINED = "DECLINED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"


class OrderRef(BaseModel):
    """The parts of an order a notification needs; other fields are ignored, because a rejected order may lack them."""

    model_config = ConfigDict(strict=True, extra="ignore")

    order_id: str = "unknown"
    customer_email: str | None = None
    total_cents: int | None = None


class WorkflowError(BaseModel):
    """A caught error as Step Functions passes it (Error, Cause)."""

    model_config = ConfigDict(strict=True, extra="ignore")

    Error: str
    Cause: str | None = None


class NotificationRequest(BaseModel):
    """What the workflow passes to SendNotification."""

    model_config = ConfigDict(strict=True, extra="forbid")

    kind: NotificationKind
    order: OrderRef
    payment: PaymentResult | None = None
    error: WorkflowError | None = None


class Notification(BaseModel):
    """A composed message, ready to publish."""

    subject: str
    body: str
    attributes: dict[str, str]


def compose(request: NotificationRequest) -> Notification:
    """Write the customer-facing message for an outcome."""
    order_id = request.order.order_id
    if request.kind is NotificationKind.CONFIRMED and request.payment:
        body = f"Thank you! Order {order_id} is confirmed; {format_money(request.payment.amount_cents)} was charged."
    elif request.kind is NotificationKind.DECLINED and request.payment:
        body = f"Order {order_id} was not placed: the payment was declined ({request.payment.decline_reason})."
    elif request.kind is NotificationKind.REJECTED:
        reason = _cause_text(request.error)
        body = f"Order {order_id} could not be accepted: {reason}."
    else:
        body = f"Order {order_id} could not be completed because of a technical problem; you have not been charged."
    return Notification(
        subject=f"Order {order_id}: {request.kind.value.lower()}",
        body=body,
        attributes={"kind": request.kind.value, "order_id": order_id},
    )


def _cause_text(error: WorkflowError | None) -> str:
    if error is None or not error.Cause:
        return "it broke an order rule"
    # A Lambda error's Cause is the JSON payload {"errorType", "errorMessage", ...}.
    try:
        return str(json.loads(error.Cause).get("errorMessage", error.Cause))
    except (ValueError, AttributeError):
        return error.Cause


def publish(sns: Any, topic_arn: str, notification: Notification) -> str:
    """Publish to the notifications topic and return the SNS message id."""
    response = sns.publish(
        TopicArn=topic_arn,
        Subject=notification.subject[:100],
        Message=notification.body,
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in notification.attributes.items()},
    )
    return response["MessageId"]
