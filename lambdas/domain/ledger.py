"""The queued-orders ledger: one row per order from before its message is sent until its workflow has started.

Every row is in one partition, sorted by order id; ids are ULIDs, so the rows before an order's are the orders placed
before it that have not started yet.
"""

from __future__ import annotations

from typing import Any

PARTITION_KEY, SORT_KEY, EXPIRES = "queue", "order_id", "expires_at"
QUEUE = "orders"
PURGED = "purged_at"  # set when the queue was purged with the order's message in it


def key(order_id: str) -> dict[str, Any]:
    """The row's key, as the DynamoDB client takes it."""
    return {PARTITION_KEY: {"S": QUEUE}, SORT_KEY: {"S": order_id}}
