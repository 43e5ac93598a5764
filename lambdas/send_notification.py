"""SendNotification task: publish the outcome message to the notifications topic."""

import os

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain.notification import NotificationRequest, compose, publish
from lambdas.envelopes import StepFunctionsPayload
from lambdas.observability import correlate, logger, metrics

sns = boto3.client("sns")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@event_parser(model=NotificationRequest, envelope=StepFunctionsPayload)
def handler(event: NotificationRequest, context: LambdaContext) -> dict:
    correlate(event.order.order_id)
    notification = compose(event)
    message_id = publish(sns, os.environ["NOTIFICATIONS_TOPIC_ARN"], notification)
    # The app's Notifications view reads what the customer was told from this line (SNS keeps no copy).
    logger.info(
        "notification sent",
        kind=event.kind.value,
        subject=notification.subject,
        text=notification.body,
        message_id=message_id,
    )
    metrics.add_metric(name="NotificationsSent", unit=MetricUnit.Count, value=1)
    return {"kind": event.kind.value, "message_id": message_id}
