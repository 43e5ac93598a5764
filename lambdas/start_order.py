"""SQS consumer: start one workflow execution per order message, reporting partial batch failures."""

import os

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain import ledger
from lambdas.domain.boundary import parse_strict
from lambdas.domain.order import Order
from lambdas.domain.workflow import start_workflow
from lambdas.observability import logger, metrics

sfn = boto3.client("stepfunctions")
dynamodb = boto3.client("dynamodb")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    """Start one order's execution, then strike its queued-orders row; a malformed message ends in the DLQ."""
    order = parse_strict(Order, record.body)
    started = start_workflow(sfn, os.environ["ORDERS_STATE_MACHINE_ARN"], order)
    # One invocation starts many orders: each line carries its own order's correlation id.
    logger.info(
        "order workflow started",
        order_id=order.order_id,
        correlation_id=order.order_id,
        duplicate=started.duplicate,
    )
    metrics.add_metric(
        name="DuplicateDeliveries" if started.duplicate else "OrdersStarted", unit=MetricUnit.Count, value=1
    )
    # Once the execution exists a lookup finds it: the row (written before the message was sent) has done its job.
    # Should this fail, the message comes back, the start is a duplicate, and the row goes then.
    dynamodb.delete_item(TableName=os.environ["QUEUED_ORDERS_TABLE_NAME"], Key=ledger.key(order.order_id))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
