"""The Lambda functions of the pipeline as the local runtime hosts them, and the ASL substitution map."""

from __future__ import annotations

from dataclasses import dataclass

ACCOUNT_ID = "123456789012"  # moto's fixed fake account: nothing real.
REGION = "us-east-1"


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function: its local name, handler path, timeout and the ASL placeholder it fills."""

    name: str
    handler: str
    timeout_seconds: int
    substitution: str | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.name}"


FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec("orders-start-order", "lambdas.start_order.handler", 30),
    FunctionSpec("orders-validate-order", "lambdas.validate_order.handler", 10, "ValidateOrderFunctionArn"),
    FunctionSpec("orders-process-payment", "lambdas.process_payment.handler", 15, "ProcessPaymentFunctionArn"),
    FunctionSpec("orders-send-notification", "lambdas.send_notification.handler", 10, "SendNotificationFunctionArn"),
)
START_ORDER = FUNCTIONS[0]


def definition_substitutions() -> dict[str, str]:
    """The same map SAM's DefinitionSubstitutions fills on AWS: placeholder -> function ARN."""
    return {spec.substitution: spec.arn for spec in FUNCTIONS if spec.substitution}
