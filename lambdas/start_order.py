"""SQS consumer: start one workflow execution per order message, reporting partial batch failures."""

import os

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
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


def record_handler(record: SQSRecord) -> str:
    """Start one order's execution and return its id; a malformed message ends in the DLQ."""
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
    return order.order_id


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    with processor(records=event["Records"], handler=record_handler, lambda_context=context):
        outcomes = processor.process()
    # Once an execution exists a lookup finds it: the rows (written before the messages were sent) have done their
    # job, and go in one request for the batch. Should that fail, the batch comes back, its starts are duplicates,
    # and the rows go then.
    started = [order_id for status, order_id, _ in outcomes if status == "success"]
    left = ledger.strike(dynamodb, os.environ["QUEUED_ORDERS_TABLE_NAME"], started)
    if left:
        raise RuntimeError(
            f"the queued-orders rows of {len(left)} started orders were not removed: {next(iter(left.values()))}"
        )
    return processor.response()
