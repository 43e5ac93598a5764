"""The stack's CloudWatch alarms and their state, the same on the local AWS (which evaluates them) and on AWS."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from backend import aws
from backend.errors import translated

AlarmState = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
# ALARM first: what needs a look leads the list.
_ORDER = {"ALARM": 0, "INSUFFICIENT_DATA": 1, "OK": 2}


class Alarm(BaseModel):
    """One alarm: its state, since when and why."""

    name: str
    label: str
    state: AlarmState
    since: datetime
    reason: str
    description: str = ""
    period: int | None = None  # seconds; a metric-math alarm's is its longest MetricStat's


def label(alarm_name: str, stack_name: str) -> str:
    """The template's logical id in a name CloudFormation made: <stack>-<LogicalId>-<suffix> -> LogicalId."""
    rest = alarm_name.removeprefix(f"{stack_name}-")
    return re.sub(r"-[A-Za-z0-9]{6,}$", "", rest) if rest != alarm_name else alarm_name


@translated
def stack_alarms() -> list[Alarm]:
    """The stack's metric alarms (named after the stack by CloudFormation), ALARM first, then by name."""
    stack = aws.connection().stack_name
    paginator = aws.client("cloudwatch").get_paginator("describe_alarms")
    alarms = [
        Alarm(
            name=item["AlarmName"],
            label=label(item["AlarmName"], stack),
            state=item["StateValue"],
            since=item["StateUpdatedTimestamp"],
            reason=item.get("StateReason", ""),
            description=item.get("AlarmDescription", ""),
            period=_period(item),
        )
        for page in paginator.paginate(AlarmNamePrefix=f"{stack}-", AlarmTypes=["MetricAlarm"])
        for item in page.get("MetricAlarms", [])
    ]
    return sorted(alarms, key=lambda alarm: (_ORDER[alarm.state], alarm.label))


def _period(item: dict[str, Any]) -> int | None:
    stats = [query["MetricStat"]["Period"] for query in item.get("Metrics", []) if "MetricStat" in query]
    return item.get("Period") or max(stats, default=None)
