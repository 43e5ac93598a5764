"""What customers were told: SendNotification's "notification sent" log lines (SNS keeps no copy of a message)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime

from pydantic import BaseModel

from backend import aws
from backend.errors import translated
from backend.order_logs import LogLine, filter_events, lines_of, log_group

SENT = "notification sent"
MAX_RECENT = 200


class Notification(BaseModel):
    """One message sent to a customer."""

    order_id: str | None
    kind: str
    text: str
    subject: str = ""
    sent_at: datetime
    message_id: str | None = None


class NotificationReport(BaseModel):
    """The newest notifications of a window and the counts per kind; scanned says how many lines were read."""

    since: datetime
    until: datetime
    recent: list[Notification]
    counts: dict[str, int]
    scanned: int
    truncated: bool = False


def from_lines(lines: Iterable[LogLine]) -> list[Notification]:
    """The notifications among log lines, in their order."""
    return [
        Notification(
            order_id=line.order_id,
            kind=str(line.details.get("kind", "?")),
            text=str(line.details.get("text", "")),
            subject=str(line.details.get("subject", "")),
            sent_at=line.at,
            message_id=line.details.get("message_id"),
        )
        for line in lines
        if line.message == SENT
    ]


def report(
    notifications: list[Notification], since: datetime, until: datetime, limit: int, truncated: bool
) -> NotificationReport:
    """Newest first, at most limit, with the counts per kind over all of them."""
    newest = sorted(notifications, key=lambda notification: notification.sent_at, reverse=True)
    counts = Counter(notification.kind for notification in notifications)
    return NotificationReport(
        since=since,
        until=until,
        recent=newest[: max(0, min(limit, MAX_RECENT))],
        counts=dict(sorted(counts.items())),
        scanned=len(notifications),
        truncated=truncated,
    )


@translated
def recent(since: datetime, until: datetime | None = None, limit: int = 50) -> NotificationReport:
    """The notifications sent in [since, until]: the newest limit of them, and the counts per kind."""
    until = until or datetime.now(UTC)
    function = aws.resources().function_names.get("send_notification")
    if not function:
        return report([], since, until, limit, truncated=False)
    events, truncated = filter_events(aws.client("logs"), log_group(function), f'"{SENT}"', since, until)
    return report(from_lines(lines_of(events, function)), since, until, limit, truncated)
