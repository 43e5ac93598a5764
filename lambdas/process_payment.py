"""ProcessPayment task: charge through the simulated gateway, at most once per order (DynamoDB idempotency)."""

import os

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain.order import Order
from lambdas.domain.payment import PaymentGatewayTimeout, PaymentRequest, PaymentResult, charge
from lambdas.envelopes import StepFunctionsPayload
from lambdas.observability import correlate, logger, metrics

persistence = DynamoDBPersistenceLayer(table_name=os.environ["PAYMENTS_TABLE_NAME"])
# A re-run (retry after a lost answer, redrive) within a week returns the recorded result instead of charging again.
idempotency = IdempotencyConfig(event_key_jmespath="order_id", expires_after_seconds=7 * 24 * 3600)


@idempotent_function(
    data_keyword_argument="order",
    persistence_store=persistence,
    config=idempotency,
    output_serializer=PydanticSerializer,
)
def charge_once(*, order: Order, attempt: int) -> PaymentResult:
    """Charge the order unless this order was already charged."""
    rate = float(os.environ.get("PAYMENT_TRANSIENT_FAILURE_RATE", "0"))
    result = charge(order, attempt, transient_failure_rate=rate, ledger=os.environ.get("PAYMENT_LEDGER_PATH", ""))
    metrics.add_metric(name=f"Payments{result.status.value.title()}", unit=MetricUnit.Count, value=1)
    return result


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@event_parser(model=PaymentRequest, envelope=StepFunctionsPayload)
def handler(event: PaymentRequest, context: LambdaContext) -> dict:
    idempotency.register_lambda_context(context)
    correlate(event.order.order_id)
    logger.append_keys(attempt=event.attempt)
    metrics.add_metric(name="PaymentRequests", unit=MetricUnit.Count, value=1)
    try:
        result = charge_once(order=event.order, attempt=event.attempt)
    except PaymentGatewayTimeout as exc:
        # The workflow retries it; this line ties the failed attempt to its invocation in the order's trace.
        logger.warning("payment gateway timed out", reason=str(exc))
        raise
    logger.info("payment answered", status=result.status.value, decline_reason=result.decline_reason)
    return result.model_dump(mode="json")
