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
# Set by the starter from its message's receive count: on a failed start, and on every receive after the first before
# the start is tried (a starter that dies then still leaves the count). SQS dead-letters a message without telling
# anyone: a lookup tells a dead-lettered order by its receives reaching the queue's maxReceiveCount with no execution,
# once the last receive's visibility timeout has run out.
RECEIVES, RECEIVED_AT = "receives", "received_at"


def key(order_id: str) -> dict[str, Any]:
    """The row's key, as the DynamoDB client takes it."""
    return {PARTITION_KEY: {"S": QUEUE}, SORT_KEY: {"S": order_id}}


def mark_receive(dynamodb: Any, table: str, order_id: str, receive_count: int, at: float) -> None:
    """Record a receive of a queued order's message (its receive count and when), unless that receive is recorded
    already (its failed start after its count: the visibility timeout runs from the receive); a row that is gone
    stays gone. A lower count replaces a higher one: a redrive sends the message back as a new one."""
    try:
        dynamodb.update_item(
            TableName=table,
            Key=key(order_id),
            UpdateExpression="SET #receives = :count, #at = :at",
            ConditionExpression="attribute_exists(#id) AND (attribute_not_exists(#receives) OR #receives <> :count)",
            ExpressionAttributeNames={"#receives": RECEIVES, "#at": RECEIVED_AT, "#id": SORT_KEY},
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
