"""The orders queue and its dead-letter queue: depth, age, activity over time, DLQ peek, purge (redrive: redrive.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel

from backend import audit, aws, ledger
from backend.errors import BackendError, translated
from backend.identity import Caller, Role
from backend.metrics import MetricQuery, metric_series

MAX_PEEK = 50
PEEK_VISIBILITY_SECONDS = 20  # how long peeked messages are hidden before they are made visible again
QueueRole = Literal["orders", "dlq"]


class QueueStats(BaseModel):
    """One queue's depth and the age of its oldest message."""

    role: QueueRole
    name: str
    url: str
    visible: int
    in_flight: int
    delayed: int
    oldest_age_seconds: float | None = None

    @property
    def depth(self) -> int:
        return self.visible + self.in_flight + self.delayed


class DlqMessage(BaseModel):
    """A dead-lettered message as peeked: its body and how often it was received."""

    message_id: str
    body: str
    sent_at: datetime | None = None
    receive_count: int = 0
    order_id: str | None = None


class SqsActivity(BaseModel):
    """AWS/SQS sent/received/deleted per period of [since, until] for one queue (source: CloudWatch)."""

    queue_name: str
    since: datetime
    until: datetime
    timestamps: list[datetime]
    sent: list[float]
    received: list[float]
    deleted: list[float]


def queue_url(role: QueueRole) -> str:
    resources = aws.resources()
    if role == "orders":
        return resources.orders_queue_url
    if not resources.dead_letter_queue_url:
        raise BackendError("No dead-letter queue is configured: set ORDERS_DLQ_URL or deploy the stack from infra/.")
    return resources.dead_letter_queue_url


class Redrive(BaseModel):
    """How the orders queue dead-letters a message: after maxReceiveCount receives, each hiding it for the
    visibility timeout."""

    max_receive_count: int
    visibility_timeout_seconds: int


def orders_redrive() -> Redrive | None:
    """The orders queue's redrive policy and visibility timeout (GetQueueAttributes); None without a redrive policy."""
    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=queue_url("orders"), AttributeNames=["RedrivePolicy", "VisibilityTimeout"]
    )["Attributes"]
    if "RedrivePolicy" not in attributes:
        return None
    policy = json.loads(attributes["RedrivePolicy"])
    return Redrive(
        max_receive_count=int(policy["maxReceiveCount"]),
        visibility_timeout_seconds=int(attributes.get("VisibilityTimeout", 30)),
    )


def queue_name(url: str) -> str:
    """The queue name at the end of a queue URL."""
    return url.rstrip("/").rsplit("/", 1)[-1]


@translated
def queue_stats(role: QueueRole) -> QueueStats:
    """Visible, in-flight and delayed messages (GetQueueAttributes) and the oldest message's age (CloudWatch)."""
    url = queue_url(role)
    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    stats = QueueStats(
        role=role,
        name=queue_name(url),
        url=url,
        visible=int(attributes.get("ApproximateNumberOfMessages", 0)),
        in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        delayed=int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
    )
    stats.oldest_age_seconds = 0.0 if stats.depth == 0 else _oldest_age(stats.name)
    return stats


def _oldest_age(name: str) -> float | None:
    """The latest AWS/SQS ApproximateAgeOfOldestMessage (Maximum) of the last 10 minutes, if published."""
    until = datetime.now().astimezone()
    series = metric_series(
        [MetricQuery("age", "AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": name}, "Maximum")],
        until - timedelta(minutes=10),
        until,
        60,
    )["age"]
    return series[-1][1] if series else None


@translated
def sqs_activity(role: QueueRole, since: datetime, until: datetime, period_seconds: int) -> SqsActivity:
    """Messages sent, received and deleted per period (CloudWatch AWS/SQS, Sum), oldest first."""
    name = queue_name(queue_url(role))
    dimensions = {"QueueName": name}
    names = {
        "sent": "NumberOfMessagesSent",
        "received": "NumberOfMessagesReceived",
        "deleted": "NumberOfMessagesDeleted",
    }
    series = metric_series(
        [MetricQuery(key, "AWS/SQS", metric, dimensions, "Sum") for key, metric in names.items()],
        since,
        until,
        period_seconds,
    )
    timestamps = sorted({at for values in series.values() for at, _ in values})
    lookup = {key: dict(values) for key, values in series.items()}
    return SqsActivity(
        queue_name=name,
        since=since,
        until=until,
        timestamps=timestamps,
        **{key: [lookup[key].get(at, 0.0) for at in timestamps] for key in names},
    )


def _order_id(body: str) -> str | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    value = parsed.get("order_id") if isinstance(parsed, dict) else None
    return value if isinstance(value, str) else None


@translated
def peek_dlq(caller: Caller, limit: int = 10) -> list[DlqMessage]:
    """Look at up to limit DLQ messages without removing them: received, then made visible again at once."""
    # Receiving counts towards a message's receives, and the bodies hold customers' details: operators only, and
    # who looked is recorded.
    what = "Looking at dead-letter messages"
    audit.require(caller, Role.OPERATOR, what, "peek-dlq", "dlq")
    limit = max(1, min(limit, MAX_PEEK))
    sqs = aws.client("sqs")
    url = queue_url("dlq")
    with audit.audited(caller, "peek-dlq", what, queue_name(url), count=limit, detail=f"up to {limit}") as action:
        messages = _peek(sqs, url, limit)
        action.done(messages, len(messages), f"looked at {len(messages)} (asked for {limit}), made visible again")
    return messages


def _peek(sqs: Any, url: str, limit: int) -> list[DlqMessage]:
    seen: dict[str, dict[str, Any]] = {}
    for _ in range(limit):  # bounded: each pass receives at least one message or stops
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(10, limit - len(seen)),
            VisibilityTimeout=PEEK_VISIBILITY_SECONDS,
            MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            seen[message["MessageId"]] = message
        if len(seen) >= limit:
            break
    _make_visible(sqs, url, [m["ReceiptHandle"] for m in seen.values()])
    return [
        DlqMessage(
            message_id=m["MessageId"],
            body=m["Body"],
            sent_at=datetime.fromtimestamp(int(m["Attributes"]["SentTimestamp"]) / 1000).astimezone()
            if "SentTimestamp" in m.get("Attributes", {})
            else None,
            receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
            order_id=_order_id(m["Body"]),
        )
        for m in seen.values()
    ]


def _make_visible(sqs: Any, url: str, handles: list[str]) -> None:
    for start in range(0, len(handles), 10):
        entries = [
            {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
            for i, h in enumerate(handles[start : start + 10])
        ]
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)


@translated
def purge(role: QueueRole, caller: Caller, confirmation: str) -> int:
    """Purge a queue (PurgeQueue) if confirmation is its name; audited; return its depth before the purge."""
    what = "Purging a queue"
    audit.require(caller, Role.OPERATOR, what, "purge", role)
    url = queue_url(role)
    name = queue_name(url)
    if confirmation.strip() != name:
        raise BackendError(f"Type the queue name {name} to purge it.")
    stats = queue_stats(role)
    with audit.audited(caller, "purge", what, name, count=stats.depth, detail="PurgeQueue") as action:
        purged_at = datetime.now(UTC)
        aws.client("sqs").purge_queue(QueueUrl=url)
        if role == "orders":  # the orders it held will not start: a lookup says so instead of "queued"
            ledger.mark_purged(purged_at)
        action.done(stats.depth, stats.depth, f"PurgeQueue: {stats.depth} messages")
    return stats.depth
