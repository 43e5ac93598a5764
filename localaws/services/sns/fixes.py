"""Where moto's SNS answers otherwise than SNS."""

from __future__ import annotations

import json
from typing import Any

from localaws.services.cloudformation.types import api, resource_type
from localaws.services.patches import Correction, Kind

cloudformation_subscriptions = Correction(
    "CloudFormation SNS subscriptions",
    Kind.FIX,
    "moto's CloudFormation silently skips AWS::SNS::Subscription (the template's optional e-mail subscriptions); "
    "they are created through Subscribe instead, so ListSubscriptionsByTopic shows them.",
)


@resource_type(cloudformation_subscriptions, "AWS::SNS::Subscription")
def subscription_model() -> type:
    from moto.core.common_models import CloudFormationModel

    class CloudFormationSubscription(CloudFormationModel):
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
            answer = api("sns", region_name).subscribe(
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
            api("sns", region_name).unsubscribe(SubscriptionArn=resource_name)

    return CloudFormationSubscription


CORRECTIONS = (cloudformation_subscriptions,)
