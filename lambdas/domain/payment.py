"""The simulated payment gateway: deterministic outcomes per test card, charged at most once per order."""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from lambdas.domain.order import Order, PaymentMethod

DECLINE_REASONS: dict[PaymentMethod, str] = {
    PaymentMethod.DECLINED: "card_declined",
    PaymentMethod.INSUFFICIENT_FUNDS: "insufficient_funds",
}


class PaymentStatus(StrEnum):
    """How the gateway answered a charge."""

    APPROVED = "APPROVED"
    DECLINED = "DECLINED"


class PaymentRequest(BaseModel):
    """What the workflow passes to ProcessPayment; attempt is the state's retry count."""

    model_config = ConfigDict(strict=True, extra="forbid")

    order: Order
    attempt: int = Field(default=0, ge=0)


class PaymentResult(BaseModel):
    """The gateway's answer, returned to the workflow."""

    status: PaymentStatus
    payment_id: str
    amount_cents: int
    decline_reason: str | None = None


class PaymentGatewayTimeout(Exception):
    """The gateway did not answer in time: transient, the workflow retries it."""


def charge(
    order: Order,
    attempt: int,
    transient_failure_rate: float,
    rng: random.Random | None = None,
    ledger: str = "",
) -> PaymentResult:
    """Ask the simulated gateway to charge the order's total, keyed by the order id; given a ledger file, it keeps its
    keys beside it and records each answer there."""
    method = order.payment_method
    rng = rng or random.Random()
    times_out = (
        method is PaymentMethod.TIMEOUT_ALWAYS
        or (method is PaymentMethod.TIMEOUT_ONCE and attempt == 0)
        or rng.random() < transient_failure_rate
    )
    if times_out:
        raise PaymentGatewayTimeout(f"payment gateway did not answer for {order.order_id} (attempt {attempt + 1})")
    payment_id = "pay_" + hashlib.sha256(order.order_id.encode()).hexdigest()[:20]
    reason = DECLINE_REASONS.get(method)
    status = PaymentStatus.DECLINED if reason else PaymentStatus.APPROVED
    result = PaymentResult(status=status, payment_id=payment_id, amount_cents=order.total_cents, decline_reason=reason)
    if not ledger:
        return result
    result, replayed = _charge_once(Path(f"{ledger}.keys"), order.order_id, result)
    _record(ledger, order, result, replayed)
    return result


def _charge_once(keys: Path, key: str, result: PaymentResult) -> tuple[PaymentResult, bool]:
    """The gateway's idempotency key (the order id), as real gateways take one: the first request with a key charges
    and keeps its answer, a later one gets that answer back uncharged; whether this one was such a replay."""
    keys.mkdir(exist_ok=True)
    kept, draft = keys / key, keys / f".{key}.{os.getpid()}.{threading.get_ident()}"
    draft.write_text(result.model_dump_json())
    try:
        os.link(draft, kept)  # atomic: one request per key gets to charge, whatever crashed before
    except FileExistsError:
        return PaymentResult.model_validate_json(kept.read_text()), True
    finally:
        draft.unlink()
    return result, False


def _record(ledger: str, order: Order, result: PaymentResult, replayed: bool) -> None:
    """Append one line to the gateway's ledger: one write with O_APPEND, so lines from concurrent workers never mix
    and the line outlives a crash of this process the instant the call returns."""
    line = {
        "order_id": order.order_id,
        "status": result.status.value,
        "amount_cents": result.amount_cents,
        "replayed": replayed,
    }
    handle = os.open(ledger, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(handle, (json.dumps(line | {"pid": os.getpid(), "at": time.time()}) + "\n").encode())
    finally:
        os.close(handle)
