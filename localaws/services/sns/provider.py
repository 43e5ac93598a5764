"""SNS as a service of the local AWS."""

from __future__ import annotations

from localaws.config import LocalAwsOptions
from localaws.services.service import Service
from localaws.services.sns import fixes, retention

SENT_NOTIFICATIONS_KEPT = 1_000  # per topic


class Sns(Service):
    """Topics and subscriptions, with a bounded record of what was published."""

    name = "sns"
    corrections = fixes.CORRECTIONS

    def housekeep(self, now: float, options: LocalAwsOptions) -> None:
        retention.prune_sent_notifications(SENT_NOTIFICATIONS_KEPT)
