"""ValidateOrder task: apply the schema and business rules; an invalid order raises OrderInvalid."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain.order import OrderInvalid, validate_order
from lambdas.observability import correlate, logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    payload = event.get("order") if isinstance(event, dict) else None
    correlate(payload.get("order_id") if isinstance(payload, dict) else None)
    try:
        order = validate_order(payload)
    except OrderInvalid as exc:
        logger.info("order rejected", reason=str(exc))
        metrics.add_metric(name="OrdersRejected", unit=MetricUnit.Count, value=1)
        raise
    logger.info("order valid")
    metrics.add_metric(name="OrdersValidated", unit=MetricUnit.Count, value=1)
    return {"order": order.model_dump(mode="json")}
