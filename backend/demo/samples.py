"""Realistic random test orders, and the outcome the order rules predict for each."""

from __future__ import annotations

import random

from backend.executions import Outcome
from lambdas.domain.order import CATALOGUE, Order, OrderRequest, PaymentMethod, business_rule_violations
from lambdas.domain.payment import DECLINE_REASONS

_FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Linus", "Radia", "Donald", "Frances", "Tim"]
_LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton", "Torvalds", "Perlman", "Knuth"]
_EVERYDAY = [sku for sku in CATALOGUE if sku != "LIMITED-PRINT"]
# Mostly good cards, with a few of each deterministic failure so a burst shows every branch.
_PAYMENT_WEIGHTS = {
    PaymentMethod.VISA: 78,
    PaymentMethod.MASTERCARD: 8,
    PaymentMethod.DECLINED: 4,
    PaymentMethod.INSUFFICIENT_FUNDS: 3,
    PaymentMethod.TIMEOUT_ONCE: 3,
}
_OVER_STOCK_RATE = 0.04


def random_requests(
    count: int,
    rng: random.Random | None = None,
    cards: dict[PaymentMethod, int] | None = None,
    over_stock_rate: float = _OVER_STOCK_RATE,
) -> list[OrderRequest]:
    """count orders like real customers place: 1-4 lines of everyday products, now and then too many prints, paid
    with the test cards in the proportions of cards (by default mostly approved, a few of each failure)."""
    rng = rng or random.Random()
    cards = cards or _PAYMENT_WEIGHTS
    requests = []
    for _ in range(count):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        lines = [
            {"sku": sku, "quantity": rng.choice([1, 1, 1, 2, 2, 3])}
            for sku in rng.sample(_EVERYDAY, k=rng.randint(1, 4))
        ]
        if rng.random() < over_stock_rate:
            lines.append({"sku": "LIMITED-PRINT", "quantity": CATALOGUE["LIMITED-PRINT"].stock + 1})
        method = rng.choices(list(cards), weights=list(cards.values()))[0]
        requests.append(
            OrderRequest(
                customer_name=f"{first} {last}",
                customer_email=f"{first}.{last}{rng.randint(1, 999)}@example.com".lower(),
                lines=lines,
                payment_method=method,
            )
        )
    return requests


def expected_outcome(order: Order) -> Outcome:
    """What the order rules say must happen to this order (with no injected transient failures)."""
    if business_rule_violations(order):
        return Outcome.REJECTED
    if order.payment_method is PaymentMethod.TIMEOUT_ALWAYS:
        return Outcome.FAILED
    if order.payment_method in DECLINE_REASONS:
        return Outcome.DECLINED
    return Outcome.SUCCEEDED
