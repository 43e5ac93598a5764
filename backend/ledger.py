"""The queued-orders ledger (lambdas/domain/ledger.py) as the app uses it: rows written before orders are sent,
removed for what SQS refused, marked by a purge, and read to tell a queued order and how many are ahead of it."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from ulid import ULID

from backend import aws
from backend.errors import BackendError
from lambdas.domain.ledger import (
    EXPIRES,
    PARTITION_KEY,
    PURGED,
    QUEUE,
    RECEIVED_AT,
    RECEIVES,
    SORT_KEY,
    key,
    write_rows,
)

_NAMES = {"#queue": PARTITION_KEY, "#id": SORT_KEY, "#expires": EXPIRES, "#purged": PURGED}


class Row(BaseModel):
    """An order's row, when a purge took its message (None while it is queued), and its message's receives."""

    order_id: str
    purged_at: datetime | None = None
    receives: int = 0  # the receive count of its message the starter last counted (see lambdas/domain/ledger.py)
    received_at: datetime | None = None


def table_name() -> str:
    """The ledger table of this home's stack."""
    name = aws.resources().queued_orders_table_name
    if not name:
        raise BackendError(
            "The stack has no QueuedOrdersTableName output: deploy infra/template.yaml again (make -C infra deploy)."
        )
    return name


def add(order_ids: Sequence[str], expires_at: int) -> dict[str, str]:
    """Write the rows of orders about to be sent; return order id -> reason for those not written."""
    return _write([{"PutRequest": {"Item": _item(oid, expires_at)}} for oid in order_ids])


def remove(order_ids: Iterable[str]) -> None:
    """Delete the rows of orders that were not sent; a row left behind would say they are queued."""
    failed = _write([{"DeleteRequest": {"Key": key(oid)}} for oid in order_ids])
    if failed:
        raise BackendError(f"Could not remove the queued-orders rows of {', '.join(failed)}: {_reason(failed)}.")


def find(order_id: str) -> Row | None:
    """The order's row, if it has one that has not expired (DynamoDB deletes expired rows only within days)."""
    item = aws.client("dynamodb").get_item(TableName=table_name(), Key=key(order_id), ConsistentRead=True).get("Item")
    if not item or int(item[EXPIRES]["N"]) <= time.time():
        return None
    purged, received_at = item.get(PURGED), item.get(RECEIVED_AT)
    return Row(
        order_id=order_id,
        purged_at=datetime.fromtimestamp(float(purged["N"]), UTC) if purged else None,
        receives=int(item.get(RECEIVES, {}).get("N", 0)),
        received_at=datetime.fromtimestamp(float(received_at["N"]), UTC) if received_at else None,
    )


def ahead_of(order_id: str) -> int:
    """How many orders placed before this one are still queued (a Query that counts, page by page)."""
    count, start = 0, None
    while True:
        page = aws.client("dynamodb").query(
            TableName=table_name(),
            ConsistentRead=True,
            Select="COUNT",
            KeyConditionExpression="#queue = :queue AND #id < :id",
            FilterExpression="#expires > :now AND attribute_not_exists(#purged)",
            ExpressionAttributeNames={name: _NAMES[name] for name in ("#queue", "#id", "#expires", "#purged")},
            ExpressionAttributeValues={
                ":queue": {"S": QUEUE},
                ":id": {"S": order_id},
                ":now": {"N": str(int(time.time()))},
            },
            **({"ExclusiveStartKey": start} if start else {}),
        )
        count += page["Count"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return count


def mark_purged(at: datetime) -> int:
    """Mark the rows of the orders placed before a purge of the orders queue; return how many."""
    # The first id of the purge's millisecond: every order placed earlier sorts before it.
    bound = "ord_" + str(ULID.from_bytes(int(at.timestamp() * 1000).to_bytes(6, "big") + bytes(10))).lower()
    dynamodb, items = aws.client("dynamodb"), []
    for page in dynamodb.get_paginator("query").paginate(
        TableName=table_name(),
        ConsistentRead=True,
        KeyConditionExpression="#queue = :queue AND #id < :id",
        FilterExpression="attribute_not_exists(#purged)",
        ExpressionAttributeNames={name: _NAMES[name] for name in ("#queue", "#id", "#purged")},
        ExpressionAttributeValues={":queue": {"S": QUEUE}, ":id": {"S": bound}},
    ):
        items += [item | {PURGED: {"N": str(int(at.timestamp()))}} for item in page["Items"]]
    failed = _write([{"PutRequest": {"Item": item}} for item in items])
    if failed:
        raise BackendError(f"Could not mark {len(failed)} queued-orders rows as purged: {_reason(failed)}.")
    return len(items)


def _reason(failed: dict[str, str]) -> str:
    return next(iter(failed.values()))


def _item(order_id: str, expires_at: int) -> dict[str, Any]:
    return key(order_id) | {EXPIRES: {"N": str(expires_at)}}


def _write(requests: list[dict[str, Any]]) -> dict[str, str]:
    return write_rows(aws.client("dynamodb"), table_name(), requests)
