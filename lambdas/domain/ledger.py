"""The queued-orders ledger: one row per order from before its message is sent until its workflow has started.

Every row is in one partition, sorted by order id; ids are ULIDs, so the rows before an order's are the orders placed
before it that have not started yet.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

PARTITION_KEY, SORT_KEY, EXPIRES = "queue", "order_id", "expires_at"
QUEUE = "orders"
PURGED = "purged_at"  # set when the queue was purged with the order's message in it


def key(order_id: str) -> dict[str, Any]:
    """The row's key, as the DynamoDB client takes it."""
    return {PARTITION_KEY: {"S": QUEUE}, SORT_KEY: {"S": order_id}}


WRITE_BATCH_SIZE = 25  # BatchWriteItem's limit
WRITE_ATTEMPTS = 3


def strike(dynamodb: Any, table: str, order_ids: Iterable[str]) -> dict[str, str]:
    """Delete the rows of orders whose workflows have started; return order id -> reason for those left."""
    # A batch may hold one order twice (a duplicate delivery); BatchWriteItem refuses a key named twice.
    return write_rows(dynamodb, table, [{"DeleteRequest": {"Key": key(oid)}} for oid in dict.fromkeys(order_ids)])


def write_rows(dynamodb: Any, table: str, requests: list[dict[str, Any]]) -> dict[str, str]:
    """BatchWriteItem in batches, retrying what DynamoDB left unprocessed; return order id -> reason for the rest."""
    failed = {}
    for start in range(0, len(requests), WRITE_BATCH_SIZE):
        pending = requests[start : start + WRITE_BATCH_SIZE]
        for attempt in range(WRITE_ATTEMPTS):
            answer = dynamodb.batch_write_item(RequestItems={table: pending})
            pending = answer.get("UnprocessedItems", {}).get(table, [])
            if not pending:
                break
            time.sleep(0.05 * 2**attempt)  # unprocessed means throttled: back off before asking again
        for request in pending:
            written = request.get("PutRequest", {}).get("Item") or request["DeleteRequest"]["Key"]
            failed[written[SORT_KEY]["S"]] = "DynamoDB left the write unprocessed (throttled) three times"
    return failed
