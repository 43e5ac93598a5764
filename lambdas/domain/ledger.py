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
# Set by the starter each time it fails to start the order: SQS dead-letters the message without telling anyone, so
# a lookup tells a dead-lettered order by its failed starts reaching the queue's maxReceiveCount.
FAILED_STARTS, FAILED_AT = "failed_starts", "failed_at"


def key(order_id: str) -> dict[str, Any]:
    """The row's key, as the DynamoDB client takes it."""
    return {PARTITION_KEY: {"S": QUEUE}, SORT_KEY: {"S": order_id}}


def mark_failed_start(dynamodb: Any, table: str, order_id: str, receive_count: int, at: float) -> None:
    """Record a failed start of a queued order (its receive count and when); a row that is gone stays gone."""
    try:
        dynamodb.update_item(
            TableName=table,
            Key=key(order_id),
            UpdateExpression="SET #failed = :count, #at = :at",
            ConditionExpression="attribute_exists(#id)",
            ExpressionAttributeNames={"#failed": FAILED_STARTS, "#at": FAILED_AT, "#id": SORT_KEY},
            ExpressionAttributeValues={":count": {"N": str(receive_count)}, ":at": {"N": f"{at:.3f}"}},
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return


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
