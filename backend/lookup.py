"""Where an order is, from its id alone: its execution, queued (and behind how many), or why there is nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, TypeAdapter, ValidationError

from backend import ledger, queues, sandbox
from backend.errors import BackendError, translated
from backend.orders import OrderDetail, execution_detail
from backend.timefmt import UTC_NAME, format_time
from lambdas.domain.order import OrderId, describe_errors, placed_at

# Step Functions keeps a Standard workflow's finished execution for 90 days, then it is gone.
AWS_EXECUTION_RETENTION = timedelta(days=90)
_ORDER_ID = TypeAdapter(OrderId)
_UTC = ZoneInfo(UTC_NAME)


class InvalidOrderId(BackendError):
    """The text is not an order id; the message names the rule."""


class NoExecution(BaseModel):
    """An order id without a workflow execution, and what is known instead."""

    order_id: str
    placed_at: datetime  # the time in its ULID

    def describe(self, zone: ZoneInfo = _UTC) -> str:
        """The answer in one sentence, times in the zone."""
        raise NotImplementedError


class Queued(NoExecution):
    """Sent to the orders queue, its workflow not started yet."""

    kind: Literal["queued"] = "queued"
    ahead: int  # orders placed before it and not started either

    def describe(self, zone: ZoneInfo = _UTC) -> str:
        ahead = "no order" if self.ahead == 0 else f"{self.ahead:,} order{'s' if self.ahead > 1 else ''}"
        return (
            f"{self.order_id} is queued since {format_time(self.placed_at, zone)}, {ahead} ahead of it (placed "
            "earlier, not started yet). Its workflow starts when the starter takes it from the queue."
        )


class DeadLettered(NoExecution):
    """Its workflow never started: every receive of its message failed, and SQS moved it to the dead-letter queue."""

    kind: Literal["dead-lettered"] = "dead-lettered"
    dead_lettered_at: datetime  # when its last failed receive's visibility timeout ran out: SQS moved it then
    receive_count: int

    def describe(self, zone: ZoneInfo = _UTC) -> str:
        return (
            f"{self.order_id} was placed at {format_time(self.placed_at, zone)} and dead-lettered at about "
            f"{format_time(self.dead_lettered_at, zone)}: its workflow failed to start on each of its "
            f"{self.receive_count} receives, so SQS moved its message to the dead-letter queue. A redrive of the "
            "dead-letter queue sends it back to be started again."
        )


class Purged(NoExecution):
    """Its message was deleted by a purge of the orders queue before its workflow started."""

    kind: Literal["purged"] = "purged"
    purged_at: datetime

    def describe(self, zone: ZoneInfo = _UTC) -> str:
        return (
            f"{self.order_id} was placed at {format_time(self.placed_at, zone)} and purged from the orders queue at "
            f"{format_time(self.purged_at, zone)} before its workflow started: it will not run."
        )


class LostInReset(NoExecution):
    """Placed on the local sandbox before a deliberate reset, which deleted it with everything else."""

    kind: Literal["lost"] = "lost"
    reset_at: datetime

    def describe(self, zone: ZoneInfo = _UTC) -> str:
        return (
            f"{self.order_id} was placed at {format_time(self.placed_at, zone)}, before the sandbox was reset at "
            f"{format_time(self.reset_at, zone)}: the reset deleted every order, message and execution it held."
        )


class Expired(NoExecution):
    """Placed before the oldest execution record still kept: a record of it would be gone."""

    kind: Literal["expired"] = "expired"
    kept_since: datetime
    rule: str

    def describe(self, zone: ZoneInfo = _UTC) -> str:
        return (
            f"No record of {self.order_id} any more: it was placed at {format_time(self.placed_at, zone)}, and "
            f"{self.rule} (none started before {format_time(self.kept_since, zone)})."
        )


class Unknown(NoExecution):
    """Neither executed, nor queued, nor older than what is kept: this pipeline never had the order."""

    kind: Literal["unknown"] = "unknown"

    def describe(self, zone: ZoneInfo = _UTC) -> str:
        return (
            f"Unknown order id {self.order_id}: it has no workflow execution, is not queued, and the id's time "
            f"({format_time(self.placed_at, zone)}) is within what this pipeline still keeps."
        )


Located = OrderDetail | Queued | DeadLettered | Purged | LostInReset | Expired | Unknown


def check_order_id(text: str) -> str:
    """The order id, or InvalidOrderId naming the rule it breaks."""
    try:
        return _ORDER_ID.validate_python(text)
    except ValidationError as exc:
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise InvalidOrderId(f"Not an order id: {shown!r}. An order id {describe_errors(exc)[0].message}.") from None


@translated
def locate(order_id: str) -> Located:
    """The order's execution if it has one; else purged, dead-lettered, queued (with how many ahead), lost in a reset
    of the local sandbox, expired, or unknown, in that order of checks. A malformed id raises InvalidOrderId."""
    order_id = check_order_id(order_id)
    detail = execution_detail(order_id)
    if detail:
        return detail
    placed = placed_at(order_id)
    row = ledger.find(order_id)
    if row and row.purged_at:
        return Purged(order_id=order_id, placed_at=placed, purged_at=row.purged_at)
    if row and row.receives:
        dead = dead_lettered(row, placed)
        if dead:
            return dead
    if row:
        return Queued(order_id=order_id, placed_at=placed, ahead=ledger.ahead_of(order_id))
    # The starter may have started it, and struck its row, between the two reads.
    detail = execution_detail(order_id)
    if detail:
        return detail
    reset_at = sandbox.reset_after(placed)
    if reset_at:
        return LostInReset(order_id=order_id, placed_at=placed, reset_at=reset_at)
    kept = sandbox.history_kept() or sandbox.HistoryKept(
        since=datetime.now(UTC) - AWS_EXECUTION_RETENTION,
        rule="Step Functions keeps a finished execution for 90 days",
    )
    if placed < kept.since:
        return Expired(order_id=order_id, placed_at=placed, kept_since=kept.since, rule=kept.rule)
    return Unknown(order_id=order_id, placed_at=placed)


def dead_lettered(row: ledger.Row, placed: datetime) -> DeadLettered | None:
    """Whether a queued order's message has been dead-lettered, from its row alone plus the queue's redrive policy.

    SQS moves a message to the DLQ without telling anyone: on the receive after its maxReceiveCount-th, once the
    visibility timeout of that last receive has run out. The starter counts the receives of an order's message that
    did not start it on the order's row (how many, and when the last was), so a lookup needs no look into the DLQ,
    which would hide its messages and count receives of them (and needs rights a read-only dashboard does not have).
    """
    redrive = queues.orders_redrive()
    if redrive is None or row.received_at is None or row.receives < redrive.max_receive_count:
        return None
    moved_at = row.received_at + timedelta(seconds=redrive.visibility_timeout_seconds)
    if moved_at > datetime.now(UTC):
        return None  # still hidden after its last receive: SQS has not moved it yet
    return DeadLettered(order_id=row.order_id, placed_at=placed, dead_lettered_at=moved_at, receive_count=row.receives)
