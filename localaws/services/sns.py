"""Corrections to moto's SNS: CloudFormation subscriptions, and a bounded record of published messages."""

from __future__ import annotations

import importlib
import json
from typing import Any

from localaws.services import _cloudformation
from localaws.services._patching import iter_backends, rewrite_prefix


def prune_sent_notifications(keep_per_topic: int) -> int:
    """Trim moto's record of every message published to a topic (SNS itself keeps none) to the newest
    keep_per_topic; return how many were dropped."""
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


def cloudformation_subscriptions() -> None:
    """moto's CloudFormation silently skips AWS::SNS::Subscription (the template's optional e-mail subscriptions);
    they are created through Subscribe instead, so ListSubscriptionsByTopic shows them."""
    base = importlib.import_module("moto.core.common_models").CloudFormationModel

    class CloudFormationSubscription(base):  # type: ignore[misc, valid-type]
        """An AWS::SNS::Subscription made by a stack."""

        def __init__(self, arn: str) -> None:
            self.physical_resource_id = arn

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::SNS::Subscription"

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> CloudFormationSubscription:
            properties = cloudformation_json["Properties"]
            attributes = {
                key: value if isinstance(value, str) else json.dumps(value)
                for key, value in properties.items()
                if key in ("FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy")
            }
            answer = _cloudformation.api("sns", region_name).subscribe(
                TopicArn=properties["TopicArn"],
                Protocol=properties["Protocol"],
                Endpoint=properties.get("Endpoint", ""),
                Attributes=attributes,
                ReturnSubscriptionArn=True,
            )
            return cls(answer["SubscriptionArn"])

        @classmethod
        def delete_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            _cloudformation.api("sns", region_name).unsubscribe(SubscriptionArn=resource_name)

    _cloudformation.register(CloudFormationSubscription)


CORRECTIONS = (("CloudFormation SNS subscriptions", cloudformation_subscriptions),)
