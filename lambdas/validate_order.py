"""ValidateOrder task: apply the schema and business rules; an invalid order raises OrderInvalid."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain.order import OrderInvalid, validate_order
from lambdas.observability import logger, metrics


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    try:
        order = validate_order(event.get("order") if isinstance(event, dict) else None)
    except OrderInvalid as exc:
        logger.info("order rejected", reason=str(exc))
        metrics.add_metric(name="OrdersRejected", unit=MetricUnit.Count, value=1)
        raise
    logger.append_keys(order_id=order.order_id)
    logger.info("order valid")
    metrics.add_metric(name="OrdersValidated", unit=MetricUnit.Count, value=1)
    return {"order": order.model_dump(mode="json")}
