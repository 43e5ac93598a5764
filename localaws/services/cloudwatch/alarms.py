"""CloudWatch alarms evaluated against the local metrics, as AWS evaluates them (moto stores alarms and never does).

Each alarm is judged over the EvaluationPeriods periods that end at the last whole minute, SETTLE_SECONDS after it
(the local telemetry flushes every 5 s): its statistic through the statistics correction's GetMetricData, or its metric
math over the MetricStat series; then ComparisonOperator and Threshold, DatapointsToAlarm (M of N) and
TreatMissingData. A change of state is set with moto's SetAlarmState (which journals it) and published to the alarm's
actions' SNS topics, as AWS does.
"""

from __future__ import annotations

import json
import logging
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from localaws.services.backends import iter_backends
from localaws.services.cloudwatch.math import ExpressionError, Series, evaluate_expression
from localaws.services.cloudwatch.store import iso

_log = logging.getLogger(__name__)
SETTLE_SECONDS = 10
_OPERATORS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanThreshold": (operator.gt, "greater than"),
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to"),
    "LessThanThreshold": (operator.lt, "less than"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to"),
}


@dataclass(frozen=True)
class Verdict:
    """An alarm's new state and AWS's words for why."""

    state: str | None  # None: keep the current state (TreatMissingData ignore, with no data)
    reason: str


def judge(
    points: Sequence[tuple[datetime, float | None]],
    comparison: str,
    threshold: float,
    datapoints_to_alarm: int | None,
    treat_missing: str | None,
    current_state: str,
) -> Verdict:
    """The state of an alarm given its evaluation periods' datapoints (oldest first, None when missing)."""
    breaches, words = _OPERATORS[comparison]
    needed = datapoints_to_alarm or len(points)
    treat_missing = treat_missing or "missing"
    present = [(at, value) for at, value in points if value is not None]
    missing = len(points) - len(present)
    breaching = [(at, value) for at, value in present if breaches(value, threshold)]
    counted_breaching = len(breaching) + (missing if treat_missing == "breaching" else 0)
    if not present and treat_missing in ("missing", "ignore"):
        if treat_missing == "ignore":
            return Verdict(None, "")
        unknown = f"{_count(missing, 'datapoint')} {_was(missing)} unknown"
        return Verdict("INSUFFICIENT_DATA", f"Insufficient Data: {unknown}.")
    threshold_text = f"({float(threshold)})"
    if counted_breaching >= needed:
        shown = _listed(breaching)
        reason = (
            f"Threshold Crossed: {counted_breaching} out of the last {len(points)} datapoints{shown} "
            f"{_was(counted_breaching)} {words} the threshold {threshold_text} "
            f"(minimum {_count(needed, 'datapoint')} for {current_state} -> ALARM transition)."
        )
        if missing and treat_missing == "breaching":
            reason += f" {_count(missing, 'missing datapoint')} {_was(missing)} treated as [Breaching]."
        return Verdict("ALARM", reason)
    if not present:
        return Verdict(
            "OK",
            f"Threshold Crossed: no datapoints were received for {_count(missing, 'period')} and "
            f"{_count(missing, 'missing datapoint')} {_was(missing)} treated as [NonBreaching].",
        )
    judged = f"{_count(len(present), 'datapoint')}{_listed(present)} {_was(len(present))}"
    return Verdict("OK", f"Threshold Crossed: {judged} not {words} the threshold {threshold_text}.")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _was(number: int) -> str:
    return "was" if number == 1 else "were"


def _listed(points: Sequence[tuple[datetime, float | None]]) -> str:
    """AWS's datapoint list: newest first, e.g. [3.0 (26/11/26 23:10:00), 1.0 (26/11/26 23:09:00)]."""
    if not points:
        return ""
    shown = ", ".join(f"{value} ({at.astimezone(UTC):%d/%m/%y %H:%M:%S})" for at, value in reversed(points))
    return f" [{shown}]"


def evaluate_alarms(now: float) -> int:
    """Evaluate every metric alarm of every account and region at unix time now; return how many changed state."""
    from moto.cloudwatch.models import cloudwatch_backends

    changed = 0
    for backend in iter_backends(cloudwatch_backends):
        for alarm in list(backend.alarms.values()):
            if alarm.rule is not None or alarm.threshold_metric_id:
                continue  # composite and anomaly-detection alarms are not evaluated locally
            try:
                changed += _evaluate(backend, alarm, now)
            except Exception:
                _log.exception("evaluating alarm %s failed", alarm.name)
    return changed


def _evaluate(backend: Any, alarm: Any, now: float) -> int:
    queries, returned, period = _queries(alarm)
    periods = int(alarm.evaluation_periods)
    # As on AWS, an alarm of a period of a minute or more is evaluated each minute over the periods that end then.
    step = min(period, 60)
    end = int(now - SETTLE_SECONDS) // step * step
    start = end - periods * period
    starts = [datetime.fromtimestamp(start + index * period, UTC) for index in range(periods)]
    # moto compares naive UTC times, as its request parser makes them.
    since, until = (datetime.fromtimestamp(at, UTC).replace(tzinfo=None) for at in (start, end))
    answers = backend.get_metric_data(queries, since, until, "TimestampAscending")
    series: dict[str, Series] = {}
    for answer in answers:
        values = dict(zip(answer["timestamps"], answer["values"], strict=True))
        series[answer["id"]] = [values.get(at) for at in starts]
    values = evaluate_expression(returned.expression, series, periods) if returned.expression else series[returned.id]
    points = list(zip(starts, values, strict=True))
    verdict = judge(
        points,
        alarm.comparison_operator,
        float(alarm.threshold),
        int(alarm.datapoints_to_alarm) if alarm.datapoints_to_alarm else None,
        alarm.treat_missing_data,
        alarm.state_value,
    )
    if verdict.state is None or verdict.state == alarm.state_value:
        return 0
    data = _reason_data(alarm, now, starts[0], period, points)
    backend.set_alarm_state(alarm.name, verdict.reason, json.dumps(data), verdict.state)  # runs its actions too
    return 1


@dataclass(frozen=True)
class _Returned:
    id: str
    expression: str | None


def _queries(alarm: Any) -> tuple[list[dict[str, Any]], _Returned, int]:
    """GetMetricData queries for the alarm's metric or its MetricStats, what it returns, and its period."""
    if not alarm.metric_data_queries:
        metric = {
            "Namespace": alarm.namespace,
            "MetricName": alarm.metric_name,
            "Dimensions": [{"Name": d.name, "Value": d.value} for d in alarm.dimensions],
        }
        stat = {"Metric": metric, "Period": int(alarm.period), "Stat": alarm.extended_statistic or alarm.statistic}
        if alarm.unit:
            stat["Unit"] = alarm.unit
        return [{"Id": "m", "MetricStat": stat, "ReturnData": True}], _Returned("m", None), int(alarm.period)
    queries, periods = [], []
    # AWS requires exactly one query to return data; ReturnData defaults to true.
    candidates = [q for q in alarm.metric_data_queries if str(q.return_data).lower() != "false"]
    explicit = [q for q in candidates if str(q.return_data).lower() == "true"]
    chosen = (explicit or candidates or [None])[0]
    returned = _Returned(chosen.id, chosen.expression) if chosen else None
    for query in alarm.metric_data_queries:
        if query.metric_stat is None:
            continue
        stat_spec = query.metric_stat
        metric = {
            "Namespace": stat_spec.metric.namespace,
            "MetricName": stat_spec.metric.metric_name,
            "Dimensions": [{"Name": d.name, "Value": d.value} for d in stat_spec.metric.dimensions],
        }
        stat = {"Metric": metric, "Period": int(stat_spec.period), "Stat": stat_spec.stat}
        if stat_spec.unit:
            stat["Unit"] = stat_spec.unit
        queries.append({"Id": query.id, "MetricStat": stat, "ReturnData": True})
        periods.append(int(stat_spec.period))
    if returned is None or not periods:
        raise ExpressionError(f"alarm {alarm.name} returns no query")
    return queries, returned, int(alarm.period or max(periods))


def _reason_data(
    alarm: Any, now: float, start: datetime, period: int, points: list[tuple[datetime, float | None]]
) -> dict[str, Any]:
    """StateReasonData as AWS writes it."""
    data: dict[str, Any] = {
        "version": "1.0",
        "queryDate": iso(datetime.fromtimestamp(now, UTC)),
        "startDate": iso(start),
        "period": period,
        "recentDatapoints": [value for _, value in points if value is not None],
        "threshold": float(alarm.threshold),
        "evaluatedDatapoints": [
            {"timestamp": iso(at), **({"value": value} if value is not None else {})} for at, value in reversed(points)
        ],
    }
    if not alarm.metric_data_queries:
        data["statistic"] = alarm.extended_statistic or alarm.statistic
        data["unit"] = alarm.unit
    return data
