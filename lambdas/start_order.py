"""SQS consumer: start one workflow execution per order message, reporting partial batch failures."""

import json
import os
import time

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import TypeAdapter, ValidationError

from lambdas.domain import ledger
from lambdas.domain.boundary import parse_strict
from lambdas.domain.order import Order, OrderId
from lambdas.domain.workflow import start_workflow
from lambdas.observability import logger, metrics

sfn = boto3.client("stepfunctions")
dynamodb = boto3.client("dynamodb")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
_order_id = TypeAdapter(OrderId)


def record_handler(record: SQSRecord) -> str:
    """Start one order's execution and return its id; a malformed message ends in the DLQ."""
    receives = int((record.raw_event.get("attributes") or {}).get("ApproximateReceiveCount") or 0)
    if receives > 1:  # the receives before this one did not start it: counted now, in case this starter dies too
        try:
            count_receive(_named_order(record.body), receives)
        except Exception:  # a lookup's hint only: the start goes ahead without it
            logger.exception("receive not counted on the ledger", message_id=record.message_id)
    try:
        order = parse_strict(Order, record.body)
        started = start_workflow(sfn, os.environ["ORDERS_STATE_MACHINE_ARN"], order)
    except Exception:
        failed_start(record, receives)
        raise
    # One invocation starts many orders: each line carries its own order's correlation id, and the SQS message that
    # brought it (an order's trace follows it from the message to the execution).
    logger.info(
        "order workflow started",
        order_id=order.order_id,
        correlation_id=order.order_id,
        duplicate=started.duplicate,
        message_id=record.message_id,
        receive_count=receives,
    )
    metrics.add_metric(
        name="DuplicateDeliveries" if started.duplicate else "OrdersStarted", unit=MetricUnit.Count, value=1
    )
    return order.order_id


def failed_start(record: SQSRecord, receives: int) -> None:
    """Log a failed start and count its receive on the order's ledger row."""
    order_id = _named_order(record.body)
    logger.warning(
        "order workflow not started",
        order_id=order_id,
        correlation_id=order_id,
        message_id=record.message_id,
        receive_count=receives,
    )
    count_receive(order_id, receives)


def count_receive(order_id: str | None, receives: int) -> None:
    """Count a receive of the order's message on its ledger row, when the body named a well-formed order id."""
    if order_id:
        ledger.mark_receive(dynamodb, os.environ["QUEUED_ORDERS_TABLE_NAME"], order_id, receives, time.time())


def _named_order(body: str) -> str | None:
    """The order id a message body names, if any (a body that is not a valid order may still name one)."""
    try:
        document = json.loads(body)
        return _order_id.validate_python(document.get("order_id")) if isinstance(document, dict) else None
    except (ValueError, ValidationError):
        return None


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(batch_size=len(event["Records"]))
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
