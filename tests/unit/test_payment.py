"""The simulated gateway's deterministic rules."""

import json
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lambdas.domain.order import Order, OrderRequest, PaymentMethod
from lambdas.domain.payment import PaymentGatewayTimeout, PaymentStatus, charge


def order(method: PaymentMethod) -> Order:
    request = OrderRequest(
        customer_name="Ada",
        customer_email="ada@example.com",
        lines=[{"sku": "MUG-CERAMIC", "quantity": 1}],
        payment_method=method,
    )
    return Order.place(request)


@pytest.mark.parametrize(
    ("method", "status", "reason"),
    [
        (PaymentMethod.VISA, PaymentStatus.APPROVED, None),
        (PaymentMethod.MASTERCARD, PaymentStatus.APPROVED, None),
        (PaymentMethod.DECLINED, PaymentStatus.DECLINED, "card_declined"),
        (PaymentMethod.INSUFFICIENT_FUNDS, PaymentStatus.DECLINED, "insufficient_funds"),
    ],
)
def test_card_outcomes(method: PaymentMethod, status: PaymentStatus, reason: str | None) -> None:
    placed = order(method)
    result = charge(placed, attempt=0, transient_failure_rate=0)
    assert (result.status, result.decline_reason, result.amount_cents) == (status, reason, placed.total_cents)


def test_timeout_once_fails_the_first_attempt_only() -> None:
    placed = order(PaymentMethod.TIMEOUT_ONCE)
    with pytest.raises(PaymentGatewayTimeout, match="attempt 1"):
        charge(placed, attempt=0, transient_failure_rate=0)
    assert charge(placed, attempt=1, transient_failure_rate=0).status is PaymentStatus.APPROVED


def test_timeout_always_never_answers() -> None:
    for attempt in range(5):
        with pytest.raises(PaymentGatewayTimeout):
            charge(order(PaymentMethod.TIMEOUT_ALWAYS), attempt=attempt, transient_failure_rate=0)


def test_transient_failure_rate_injects_timeouts() -> None:
    rng = random.Random(7)
    outcomes = []
    for _ in range(400):
        try:
            charge(order(PaymentMethod.VISA), attempt=0, transient_failure_rate=0.25, rng=rng)
            outcomes.append("ok")
        except PaymentGatewayTimeout:
            outcomes.append("timeout")
    assert 60 < outcomes.count("timeout") < 140


def test_payment_id_is_stable_per_order() -> None:
    placed = order(PaymentMethod.VISA)
    assert charge(placed, 0, 0).payment_id == charge(placed, 1, 0).payment_id
    assert charge(placed, 0, 0).payment_id != charge(order(PaymentMethod.VISA), 0, 0).payment_id


def test_the_gateway_ledger_has_one_line_per_answer_none_for_a_timeout_and_charges_a_key_once(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    approved, declined = order(PaymentMethod.VISA), order(PaymentMethod.DECLINED)
    charge(approved, 0, 0.0, ledger=str(ledger))
    charge(declined, 0, 0.0, ledger=str(ledger))
    with pytest.raises(PaymentGatewayTimeout):
        charge(order(PaymentMethod.TIMEOUT_ALWAYS), 0, 0.0, ledger=str(ledger))
    # A request again with the same key (the order id), as after a crash that lost the first answer: not charged.
    again = charge(approved, 1, 0.0, ledger=str(ledger))
    lines = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert [(line["order_id"], line["status"], line["replayed"]) for line in lines] == [
        (approved.order_id, "APPROVED", False),
        (declined.order_id, "DECLINED", False),
        (approved.order_id, "APPROVED", True),
    ]
    assert lines[0]["amount_cents"] == approved.total_cents
    assert again == charge(approved, 0, 0.0)


def test_concurrent_requests_with_one_key_charge_once(tmp_path: Path) -> None:
    ledger, placed = tmp_path / "ledger.jsonl", order(PaymentMethod.VISA)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda attempt: charge(placed, attempt, 0.0, ledger=str(ledger)), range(32)))
    assert len({answer.payment_id for answer in answers}) == 1
    lines = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert [line["replayed"] for line in lines].count(False) == 1
    assert len(lines) == 32
