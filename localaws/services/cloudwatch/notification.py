"""An alarm's change of state (by its evaluation or SetAlarmState) published to its actions' SNS topics, with AWS's
message and subject, each recorded in the alarm's history as CloudWatch records an executed action."""

from __future__ import annotations

import json
import logging
from typing import Any

from localaws.services.cloudwatch.history import record_action
from localaws.services.cloudwatch.store import iso
from localaws.services.patches import Correction, Kind

_log = logging.getLogger(__name__)
_REGION_NAMES = {"us-east-1": "US East (N. Virginia)"}

alarm_actions = Correction(
    "CloudWatch alarm actions",
    Kind.FIX,
    "moto runs no alarm action. As on AWS, an alarm's change of state, whether its evaluation or SetAlarmState "
    "made it, publishes to the SNS topics of the new state's actions (an operator's drill with SetAlarmState sends "
    "the message, as the SetAlarmState reference says).",
)


@alarm_actions.replaces(
    "moto.cloudwatch.models:CloudWatchBackend.set_alarm_state",
    params=["self", "alarm_name", "reason", "reason_data", "state_value"],
)
def set_alarm_state(original: Any, self: Any, alarm_name: str, *args: Any) -> None:
    alarm = self.alarms.get(alarm_name)
    old_state = alarm.state_value if alarm is not None else None
    original(self, alarm_name, *args)
    if alarm is not None and alarm.state_value != old_state:
        notify(alarm, old_state)


def notify(alarm: Any, old_state: str) -> None:
    """Publish the change to the topics of the new state's actions, with AWS's message and subject."""
    if not alarm.actions_enabled:
        return
    topics = {
        "ALARM": alarm.alarm_actions,
        "OK": alarm.ok_actions,
        "INSUFFICIENT_DATA": alarm.insufficient_data_actions,
    }[alarm.state_value]
    topics = [arn for arn in topics or [] if arn.startswith("arn:") and ":sns:" in arn]
    if not topics:
        return
    from moto.sns.models import sns_backends

    region = _REGION_NAMES.get(alarm.region_name, alarm.region_name)
    message = {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": alarm.alarm_arn.split(":")[4],
        "AlarmConfigurationUpdatedTimestamp": iso(alarm.configuration_updated_timestamp),
        "NewStateValue": alarm.state_value,
        "NewStateReason": alarm.state_reason,
        "StateChangeTime": iso(alarm.state_updated_timestamp),
        "Region": region,
        "AlarmArn": alarm.alarm_arn,
        "OldStateValue": old_state,
        "OKActions": alarm.ok_actions,
        "AlarmActions": alarm.alarm_actions,
        "InsufficientDataActions": alarm.insufficient_data_actions,
        "Trigger": _trigger(alarm),
    }
    subject = f'{alarm.state_value}: "{alarm.name}" in {region}'[:100]
    published = json.dumps(message)
    for arn in topics:
        _, _, _, topic_region, account, _ = arn.split(":", 5)
        try:
            sns_backends[account][topic_region].publish(published, arn=arn, subject=subject)
        except Exception as error:
            _log.exception("publishing alarm %s to %s failed", alarm.name, arn)
            record_action(alarm, arn, published, error=str(error) or type(error).__name__)
        else:
            record_action(alarm, arn, published)


def _trigger(alarm: Any) -> dict[str, Any]:
    trigger: dict[str, Any] = {
        "Period": int(alarm.period or 0),
        "EvaluationPeriods": int(alarm.evaluation_periods),
        "DatapointsToAlarm": int(alarm.datapoints_to_alarm or alarm.evaluation_periods),
        "ComparisonOperator": alarm.comparison_operator,
        "Threshold": float(alarm.threshold),
        "TreatMissingData": alarm.treat_missing_data or "missing",
        "EvaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile or "",
    }
    if alarm.metric_data_queries:
        trigger["Metrics"] = [_trigger_metric(q) for q in alarm.metric_data_queries if q.expression or q.metric_stat]
    else:
        trigger |= {
            "MetricName": alarm.metric_name,
            "Namespace": alarm.namespace,
            "StatisticType": "ExtendedStatistic" if alarm.extended_statistic else "Statistic",
            "Statistic": alarm.extended_statistic or str(alarm.statistic).upper(),
            "Unit": alarm.unit,
            "Dimensions": [{"value": d.value, "name": d.name} for d in alarm.dimensions],
        }
    return trigger


def _trigger_metric(query: Any) -> dict[str, Any]:
    if query.expression:
        return {"Id": query.id, "Expression": query.expression, "Label": query.label, "ReturnData": True}
    stat = query.metric_stat
    metric = {"Namespace": stat.metric.namespace, "MetricName": stat.metric.metric_name}
    return {"Id": query.id, "MetricStat": {"Metric": metric, "Period": int(stat.period), "Stat": stat.stat}}


CORRECTIONS = (alarm_actions,)
