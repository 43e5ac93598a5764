"""The one price table (us-east-1 list prices, as docs/deploy.md's "Cost per 1 million orders" uses them) and the
arithmetic that prices measured usage. Money is Decimal dollars: exact, with no float rounding."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, computed_field

PRICES_CHECKED = "2026-11-23"  # against stored copies of AWS's pricing pages; verify before relying on them
MILLION = Decimal(1_000_000)
PER_ORDER_PLACES = Decimal("1e-12")  # a cost per order is kept to a millionth of a micro-dollar


class Prices(BaseModel):
    """Unit prices in dollars."""

    model_config = ConfigDict(frozen=True)

    lambda_request: Decimal
    lambda_gb_second: Decimal  # x86_64
    state_transition: Decimal  # Step Functions Standard
    sqs_request: Decimal  # standard queue, a 64 KB chunk
    dynamodb_write_unit: Decimal  # on-demand
    sns_publish: Decimal
    logs_ingested_gb: Decimal
    xray_trace: Decimal


US_EAST_1 = Prices(
    lambda_request=Decimal("0.20") / MILLION,
    lambda_gb_second=Decimal("0.0000166667"),
    state_transition=Decimal("0.025") / 1000,
    sqs_request=Decimal("0.40") / MILLION,
    dynamodb_write_unit=Decimal("0.625") / MILLION,
    sns_publish=Decimal("0.50") / MILLION,
    logs_ingested_gb=Decimal("0.50"),
    xray_trace=Decimal("5.00") / MILLION,
)


class Usage(BaseModel):
    """What the pipeline used, as measured: Lambda requests and GB-seconds, state transitions, SQS requests."""

    # Decimal: an order's share of a batch's request is a fraction of one.
    lambda_requests: Decimal = Decimal(0)
    lambda_gb_seconds: Decimal = Decimal(0)
    state_transitions: Decimal = Decimal(0)  # finished executions x transitions per execution (a measured mean)
    sqs_requests: Decimal = Decimal(0)

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            lambda_requests=self.lambda_requests + other.lambda_requests,
            lambda_gb_seconds=self.lambda_gb_seconds + other.lambda_gb_seconds,
            state_transitions=self.state_transitions + other.state_transitions,
            sqs_requests=self.sqs_requests + other.sqs_requests,
        )


class Cost(BaseModel):
    """Dollars by service; total is their sum."""

    lambda_requests: Decimal = Decimal(0)
    lambda_compute: Decimal = Decimal(0)
    step_functions: Decimal = Decimal(0)
    sqs: Decimal = Decimal(0)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> Decimal:
        return self.lambda_requests + self.lambda_compute + self.step_functions + self.sqs

    def per(self, orders: int) -> Cost | None:
        """Each part divided by orders (to PER_ORDER_PLACES), so the total per order is exactly their sum."""
        if orders <= 0:
            return None
        return Cost(**{name: (getattr(self, name) / orders).quantize(PER_ORDER_PLACES) for name in SERVICES})


SERVICES = ("lambda_requests", "lambda_compute", "step_functions", "sqs")
SERVICE_NAMES = {
    "lambda_requests": "Lambda requests",
    "lambda_compute": "Lambda compute",
    "step_functions": "Step Functions",
    "sqs": "SQS",
}


def price(usage: Usage, prices: Prices = US_EAST_1) -> Cost:
    """What usage costs at prices."""
    return Cost(
        lambda_requests=usage.lambda_requests * prices.lambda_request,
        lambda_compute=usage.lambda_gb_seconds * prices.lambda_gb_second,
        step_functions=usage.state_transitions * prices.state_transition,
        sqs=usage.sqs_requests * prices.sqs_request,
    )
