"""The template's alarms: moto's CloudFormation silently skips AWS::CloudWatch::Alarm; they are created through
PutMetricAlarm instead, so DescribeAlarms lists them and !GetAtt Alarm.Arn resolves."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from moto.core.common_models import CloudFormationModel

from localaws.services.cloudformation.types import api, api_parameters, resource_type
from localaws.services.patches import Correction, Kind

# PutMetricAlarm takes the properties of AWS::CloudWatch::Alarm by the same names.
_ALARM_PARAMETERS = (
    "AlarmName", "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions", "InsufficientDataActions",
    "MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit", "EvaluationPeriods",
    "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData", "EvaluateLowSampleCountPercentile",
    "Metrics", "ThresholdMetricId",
)  # fmt: skip

cloudformation_alarms = Correction(
    "CloudFormation alarms",
    Kind.FIX,
    "moto's CloudFormation silently skips AWS::CloudWatch::Alarm; the template's alarms are created through "
    "PutMetricAlarm, so DescribeAlarms lists them and !GetAtt Alarm.Arn resolves.",
)


class CloudFormationAlarm(CloudFormationModel):
    """An AWS::CloudWatch::Alarm made by a stack."""

    def __init__(self, name: str, arn: str) -> None:
        self.physical_resource_id = name
        self.arn = arn

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.arn

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> CloudFormationAlarm:
        properties = cloudformation_json["Properties"]
        if "AlarmName" not in properties:
            resource_name = stable_name(resource_name)
        parameters = api_parameters(properties, _ALARM_PARAMETERS) | {"AlarmName": resource_name}
        cloudwatch = api("cloudwatch", region_name)
        cloudwatch.put_metric_alarm(**parameters)
        (alarm,) = cloudwatch.describe_alarms(AlarmNames=[resource_name])["MetricAlarms"]
        return cls(resource_name, alarm["AlarmArn"])

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        api("cloudwatch", region_name).delete_alarms(AlarmNames=[resource_name])


resource_type(cloudformation_alarms, "AWS::CloudWatch::Alarm")(lambda: CloudFormationAlarm)


def stable_name(generated: str) -> str:
    """<stack>-<LogicalId>-<random suffix> with a suffix made from the rest instead."""
    # CloudFormation names an alarm once, for the stack's life; the local stack is made again at every start, and a
    # new name would lose the alarm's journaled state. Same form: 12 upper-case letters and digits.
    prefix = generated.rsplit("-", 1)[0]
    digest = hashlib.sha256(prefix.encode()).digest()
    return f"{prefix}-{base64.b32encode(digest).decode()[:12]}"
