"""What CloudWatch samples of each queue on AWS, worked out from moto's queues."""

from __future__ import annotations

import time

from localaws.services.backends import iter_backends

Gauge = tuple[str, float, str]  # metric name, value, unit


def queue_gauges(now: float | None = None) -> dict[str, list[Gauge]]:
    """Each queue's gauges at unix time now, by queue name: the age of its oldest message (0 when empty) and its
    visible messages (which the DLQ alarm reads)."""
    from moto.sqs.models import sqs_backends

    now_ms = (time.time() if now is None else now) * 1000
    gauges: dict[str, list[Gauge]] = {}
    for backend in iter_backends(sqs_backends):
        for name, queue in list(backend.queues.items()):
            sent = [m.sent_timestamp for m in list(queue._messages) if m.sent_timestamp is not None]
            gauges[name] = [
                ("ApproximateAgeOfOldestMessage", max(0.0, (now_ms - min(sent)) / 1000) if sent else 0.0, "Seconds"),
                ("ApproximateNumberOfMessagesVisible", queue.approximate_number_of_messages, "Count"),
            ]
    return gauges
