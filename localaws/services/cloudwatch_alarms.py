"""CloudWatch alarms evaluated against the local metrics, as AWS evaluates them (moto stores alarms and never does).

Each alarm is judged over the EvaluationPeriods periods that end at the last whole minute, SETTLE_SECONDS after it
(the local telemetry flushes every 5 s): its statistic through our GetMetricData correction, or its metric math over the
MetricStat series; then ComparisonOperator and Threshold, DatapointsToAlarm (M of N) and TreatMissingData. A change
of state is set with moto's SetAlarmState and published to the alarm's actions' SNS topics, as AWS does. Each
alarm's state is journaled, so a restart neither resets it nor announces a transition again.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import json
import logging
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from localaws.services._patching import acknowledged, fail, is_ours, iter_backends, mark, require_params

_log = logging.getLogger(__name__)
SETTLE_SECONDS = 10
INITIAL_REASON = "Unchecked: Initial alarm creation"
_OPERATORS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanThreshold": (operator.gt, "greater than"),
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to"),
    "LessThanThreshold": (operator.lt, "less than"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to"),
}
_REGION_NAMES = {"us-east-1": "US East (N. Virginia)"}
Series = list[float | None]


# --- metric math ----------------------------------------------------------------------------------


class ExpressionError(ValueError):
    """A metric math expression outside the supported subset."""


_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def evaluate_expression(expression: str, series: dict[str, Series], length: int) -> Series:
    """The series an expression of + - * /, parentheses, numbers, ids and FILL(x, value) gives, point by point
    (a point missing in an operand is missing in the result, as is a division by zero)."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse {expression!r}") from exc
    return _points(tree.body, series, length)


def _points(node: ast.AST, series: dict[str, Series], length: int) -> Series:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return [float(node.value)] * length
    if isinstance(node, ast.Name):
        if node.id not in series:
            raise ExpressionError(f"unknown id {node.id!r}")
        return list(series[node.id])
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        return [None if value is None else sign * value for value in _points(node.operand, series, length)]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        combine = _BINARY[type(node.op)]
        left, right = _points(node.left, series, length), _points(node.right, series, length)
        return [_combine(combine, a, b) for a, b in zip(left, right, strict=True)]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "FILL" and not node.keywords:
        if len(node.args) != 2:
            raise ExpressionError("FILL takes a series and a value")
        values, fill = _points(node.args[0], series, length), _number(node.args[1])
        return [fill if value is None else value for value in values]
    raise ExpressionError(f"unsupported metric math: {ast.unparse(node)!r}")


def _number(node: ast.AST) -> float:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_number(node.operand)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return float(node.value)
    raise ExpressionError(f"FILL needs a number, not {ast.unparse(node)!r}")


def _combine(combine: Callable[[float, float], float], a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    try:
        return combine(a, b)
    except ZeroDivisionError:
        return None


# --- judging a series -------------------------------------------------------------------------------


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


# --- moto: alarms start INSUFFICIENT_DATA, and are evaluated ------------------------------------------------


def initial_state() -> None:
    """moto creates an alarm in state OK and resets the state when PutMetricAlarm updates it. On AWS a new alarm
    is INSUFFICIENT_DATA until it is evaluated, and an update leaves the state as it is."""
    correction = "CloudWatch alarm initial state"
    backend_cls = importlib.import_module("moto.cloudwatch.models").CloudWatchBackend
    original = backend_cls.__dict__["put_metric_alarm"]
    if is_ours(original):
        return
    if not callable(original) or list(inspect.signature(original).parameters)[:2] != ["self", "name"]:
        raise fail(correction, "CloudWatchBackend.put_metric_alarm no longer takes (self, name, ...)")

    @functools.wraps(original)
    def put_metric_alarm(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        previous = self.alarms.get(name)
        alarm = original(self, name, *args, **kwargs)
        if previous is None:
            alarm.state_value, alarm.state_reason = "INSUFFICIENT_DATA", INITIAL_REASON
            # Kept if journaled already: the stack's alarms are made again at each start, their state comes back.
            _record_state(alarm, "INSERT OR IGNORE")
        else:
            for field in ("state_value", "state_reason", "state_reason_data", "state_updated_timestamp", "history"):
                setattr(alarm, field, getattr(previous, field))
        return alarm

    backend_cls.put_metric_alarm = mark(put_metric_alarm)


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
    old_state = alarm.state_value
    data = _reason_data(alarm, now, starts[0], period, points)
    backend.set_alarm_state(alarm.name, verdict.reason, json.dumps(data), verdict.state)
    _notify(alarm, old_state, now)
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


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"


def _reason_data(
    alarm: Any, now: float, start: datetime, period: int, points: list[tuple[datetime, float | None]]
) -> dict[str, Any]:
    """StateReasonData as AWS writes it."""
    data: dict[str, Any] = {
        "version": "1.0",
        "queryDate": _iso(datetime.fromtimestamp(now, UTC)),
        "startDate": _iso(start),
        "period": period,
        "recentDatapoints": [value for _, value in points if value is not None],
        "threshold": float(alarm.threshold),
        "evaluatedDatapoints": [
            {"timestamp": _iso(at), **({"value": value} if value is not None else {})} for at, value in reversed(points)
        ],
    }
    if not alarm.metric_data_queries:
        data["statistic"] = alarm.extended_statistic or alarm.statistic
        data["unit"] = alarm.unit
    return data


def _notify(alarm: Any, old_state: str, now: float) -> None:
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
        "AlarmConfigurationUpdatedTimestamp": _iso(alarm.configuration_updated_timestamp),
        "NewStateValue": alarm.state_value,
        "NewStateReason": alarm.state_reason,
        "StateChangeTime": _iso(datetime.fromtimestamp(now, UTC)),
        "Region": region,
        "AlarmArn": alarm.alarm_arn,
        "OldStateValue": old_state,
        "OKActions": alarm.ok_actions,
        "AlarmActions": alarm.alarm_actions,
        "InsufficientDataActions": alarm.insufficient_data_actions,
        "Trigger": _trigger(alarm),
    }
    subject = f'{alarm.state_value}: "{alarm.name}" in {region}'[:100]
    for arn in topics:
        _, _, _, topic_region, account, _ = arn.split(":", 5)
        try:
            sns_backends[account][topic_region].publish(json.dumps(message), arn=arn, subject=subject)
        except Exception:
            _log.exception("publishing alarm %s to %s failed", alarm.name, arn)


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


# --- Durability -------------------------------------------------------------------------------------
# An alarm's state, reason, reason data and time of its last transition are journaled when it is made and at each
# change (SetAlarmState or an evaluation); a client's SetAlarmState answers once the change is on disk.

JOURNALED = "__localaws_journal__"
_journal: list[Any] = []


def record_to(journal: Any) -> None:
    """Journal every alarm state change to journal (None: stop)."""
    _journal[:] = [journal] if journal is not None else []


def _record_state(alarm: Any, insert: str) -> None:
    if _journal:
        updated = alarm.state_updated_timestamp.replace(tzinfo=UTC).timestamp()  # moto's clock: naive UTC
        row = (alarm.alarm_arn, alarm.state_value, alarm.state_reason, alarm.state_reason_data, updated)
        _journal[0].write([(f"{insert} INTO alarm_states VALUES (?, ?, ?, ?, ?)", [row])])


def journal_alarm_states() -> None:
    """Journal each alarm's state as it changes, and forget it when the alarm is deleted."""
    correction = "CloudWatch alarm state journal"
    models = importlib.import_module("moto.cloudwatch.models")
    responses = importlib.import_module("moto.cloudwatch.responses").CloudWatchResponse
    alarm_cls, backend_cls = models.Alarm, models.CloudWatchBackend
    update, delete, answer = (
        alarm_cls.__dict__["update_state"],
        backend_cls.__dict__["delete_alarms"],
        responses.__dict__["set_alarm_state"],
    )
    if is_ours(update, JOURNALED):
        return
    require_params(correction, update, ["self", "reason", "reason_data", "state_value"])
    require_params(correction, delete, ["self", "alarm_names"])
    require_params(correction, answer, ["self"])

    @functools.wraps(update)
    def update_state(self: Any, reason: str, reason_data: str, state_value: str) -> None:
        update(self, reason, reason_data, state_value)
        _record_state(self, "INSERT OR REPLACE")

    @functools.wraps(delete)
    def delete_alarms(self: Any, alarm_names: list[str]) -> None:
        arns = [(self.alarms[name].alarm_arn,) for name in alarm_names if name in self.alarms]
        delete(self, alarm_names)
        if _journal:
            _journal[0].write([("DELETE FROM alarm_states WHERE arn = ?", arns)])

    alarm_cls.update_state = mark(update_state, JOURNALED)
    backend_cls.delete_alarms = mark(delete_alarms, JOURNALED)
    responses.set_alarm_state = acknowledged(answer, _journal, JOURNALED)


def restore(journal: Any) -> dict[str, int]:
    """Give the alarms the stack made again the states they had (their actions are not run again)."""
    from moto.cloudwatch.models import cloudwatch_backends

    backends = iter_backends(cloudwatch_backends)
    alarms = {alarm.alarm_arn: alarm for backend in backends for alarm in list(backend.alarms.values())}
    restored = 0
    for row in journal.rows("SELECT * FROM alarm_states"):
        alarm = alarms.get(row["arn"])
        if alarm is None:
            continue  # made through the API, not by the stack: not made again at start
        if row["updated"] == alarm.state_updated_timestamp.replace(tzinfo=UTC).timestamp():
            continue  # journaled as it was made at this start: nothing came back
        alarm.state_value, alarm.state_reason, alarm.state_reason_data = row["state"], row["reason"], row["reason_data"]
        alarm.state_updated_timestamp = datetime.fromtimestamp(row["updated"], UTC).replace(tzinfo=None)
        restored += 1
    return {"alarm_states": restored}


CORRECTIONS = (
    ("CloudWatch alarm initial state", initial_state),
    ("CloudWatch alarm state journal", journal_alarm_states),
)
