"""Powertools Logger and Metrics shared by every handler (service and namespace come from the environment).

Handlers inject the Lambda context with clear_state=True: keys appended in one invocation would otherwise tag the
next invocation's lines in a warm worker with the previous order's id.
"""

from aws_lambda_powertools import Logger, Metrics
from pydantic import TypeAdapter, ValidationError

from lambdas.domain.order import OrderId

logger = Logger()
metrics = Metrics()
_order_id = TypeAdapter(OrderId)


def correlate(order_id: object) -> None:
    """Tag this invocation's log lines with the order id as Powertools' correlation id, if it is well-formed."""
    try:
        valid = _order_id.validate_python(order_id)
    except ValidationError:
        return
    logger.set_correlation_id(valid)
    logger.append_keys(order_id=valid)
