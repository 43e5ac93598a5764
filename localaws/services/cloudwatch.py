"""Corrections to moto's CloudWatch: CloudFormation alarms."""

from __future__ import annotations

import importlib
from typing import Any

from localaws.services import _cloudformation

# PutMetricAlarm takes the properties of AWS::CloudWatch::Alarm by the same names.
_ALARM_PARAMETERS = (
    "AlarmName",
    "AlarmDescription",
    "ActionsEnabled",
    "OKActions",
    "AlarmActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "ThresholdMetricId",
)


def cloudformation_alarms() -> None:
    """moto's CloudFormation silently skips AWS::CloudWatch::Alarm; the template's alarms are created through
    PutMetricAlarm instead, so DescribeAlarms lists them and !GetAtt Alarm.Arn resolves."""
    base = importlib.import_module("moto.core.common_models").CloudFormationModel

    class CloudFormationAlarm(base):  # type: ignore[misc, valid-type]
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
            parameters = _cloudformation.api_parameters(properties, _ALARM_PARAMETERS) | {"AlarmName": resource_name}
            cloudwatch = _cloudformation.api("cloudwatch", region_name)
            cloudwatch.put_metric_alarm(**parameters)
            (alarm,) = cloudwatch.describe_alarms(AlarmNames=[resource_name])["MetricAlarms"]
            return cls(resource_name, alarm["AlarmArn"])

        @classmethod
        def delete_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            _cloudformation.api("cloudwatch", region_name).delete_alarms(AlarmNames=[resource_name])

    _cloudformation.register(CloudFormationAlarm)


CORRECTIONS = (("CloudFormation alarms", cloudformation_alarms),)
