"""A bounded record of published messages: SNS itself keeps none, moto keeps every one."""

from __future__ import annotations

from localaws.services.backends import iter_backends, rewrite_prefix


def prune_sent_notifications(keep_per_topic: int) -> int:
    """Trim moto's record of every message published to a topic to the newest keep_per_topic; return how many were
    dropped."""
    if keep_per_topic < 0:
        raise ValueError(f"keep_per_topic must be >= 0, got {keep_per_topic}")
    from moto.sns.models import sns_backends

    dropped = 0
    for backend in iter_backends(sns_backends):
        for topic in list(backend.topics.values()):
            sent = topic.sent_notifications
            excess = len(sent) - keep_per_topic
            if excess > 0:
                rewrite_prefix(sent, excess, [])
                dropped += excess
    return dropped
