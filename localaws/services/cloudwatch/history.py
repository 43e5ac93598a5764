"""Alarm history as CloudWatch keeps it: an item per state change, configuration change and executed action, each with
AWS's summary and its JSON document (HistoryData), kept two weeks per account and region, also after the alarm is gone.

moto records no history (its DescribeAlarmHistory is unimplemented); describe_history.py answers it from here. Each
item is journaled as it is recorded and comes back at a start; the stack's alarms, made again at every start, are not
recorded as created again (an alarm whose template changed is recorded as updated).
"""

from __future__ import annotations

import bisect
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from localaws.journal import Journal
from localaws.services.backends import iter_backends
from localaws.services.cloudwatch.journal import recording
from localaws.services.cloudwatch.store import epoch, iso

# "Amazon CloudWatch retains the history of active and deleted alarms for two weeks" (mon-describe-alarm-history).
RETENTION_SECONDS = 14 * 86400
# Per account and region: an alarm flapping every minute would otherwise hold 40,000 items (change and action) in two
# weeks, each up to 4 KB.
MAX_ITEMS = 10_000
MAX_DATA = 4095  # HistoryData's length limit in CloudWatch's API
MAX_SUMMARY = 255
STATE_UPDATE, CONFIGURATION_UPDATE, ACTION = "StateUpdate", "ConfigurationUpdate", "Action"
# What a configuration document holds that no configuration change alters.
_VOLATILE = {"stateValue", "stateReason", "stateReasonData", "stateUpdatedTimestamp",
             "alarmConfigurationUpdatedTimestamp"}  # fmt: skip
_INSERT = "INSERT OR REPLACE INTO alarm_history VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
_order = itertools.count()  # ties between items of the same millisecond keep the order they were recorded in


@dataclass(frozen=True)
class HistoryItem:
    """One AlarmHistoryItem, with where it belongs and its place in the order."""

    id: str
    seq: int
    account: str
    region: str
    alarm_name: str
    alarm_type: str
    at: float  # unix time, to the millisecond as CloudWatch keeps it
    item_type: str
    summary: str
    data: str

    @property
    def key(self) -> tuple[float, int]:
        """Its place in time order."""
        return self.at, self.seq

    def row(self) -> tuple[Any, ...]:
        """Its journal row."""
        return (self.id, self.account, self.region, self.alarm_name, self.alarm_type, self.at, self.item_type,
                self.summary, self.data)  # fmt: skip


class AlarmHistory:
    """One account and region's history items, oldest first, the newest MAX_ITEMS at most."""

    def __init__(self) -> None:
        self._items: list[HistoryItem] = []
        self._lock = threading.Lock()

    def add(self, item: HistoryItem) -> None:
        """Keep an item in time order (dropping the oldest beyond MAX_ITEMS)."""
        with self._lock:
            bisect.insort(self._items, item, key=lambda held: held.key)
            del self._items[: max(0, len(self._items) - MAX_ITEMS)]

    def items(self) -> list[HistoryItem]:
        """Every item held, oldest first."""
        with self._lock:
            return list(self._items)

    def replace(self, items: Iterable[HistoryItem]) -> None:
        """Hold these items instead."""
        with self._lock:
            self._items = sorted(items, key=lambda held: held.key)[-MAX_ITEMS:]

    def drop_older(self, oldest: float) -> float | None:
        """Drop items older than the unix time oldest; return the time of the oldest item kept, if any."""
        with self._lock:
            keep = bisect.bisect_left(self._items, oldest, key=lambda held: held.at)
            del self._items[:keep]
            return self._items[0].at if self._items else None


def history_of(backend: Any) -> AlarmHistory:
    """A CloudWatch backend's history (made at its first use; moto's reset forgets it with the backend)."""
    held = backend.__dict__.get("localaws_alarm_history")
    # setdefault is atomic: two first uses at once still share one history.
    return held if held is not None else backend.__dict__.setdefault("localaws_alarm_history", AlarmHistory())


def _backend(account: str, region: str) -> Any:
    from moto.cloudwatch.models import cloudwatch_backends

    return cloudwatch_backends[account][region]


def _millis(at: datetime) -> int:
    """Unix time in whole milliseconds, truncated as the API shows timestamps (no float product: exact)."""
    return int(epoch(at.replace(microsecond=0))) * 1000 + at.microsecond // 1000


def _record(alarm: Any, at: datetime, item_type: str, summary: str, data: dict[str, Any]) -> HistoryItem:
    account, region = alarm.alarm_arn.split(":")[4], alarm.region_name
    item = HistoryItem(
        id=uuid.uuid4().hex, seq=next(_order), account=account, region=region, alarm_name=alarm.name,
        alarm_type="CompositeAlarm" if alarm.rule is not None else "MetricAlarm", at=_millis(at) / 1000,
        item_type=item_type, summary=summary[:MAX_SUMMARY], data=_compact(data),
    )  # fmt: skip
    history_of(_backend(account, region)).add(item)
    recording.write([(_INSERT, [item.row()])])
    return item


def _compact(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))


def _fitted(document: dict[str, Any], droppable: Sequence[Callable[[dict[str, Any]], Any]]) -> dict[str, Any]:
    """The document, its least needed parts dropped in order until it is within HistoryData's length limit."""
    for drop in droppable:
        if len(_compact(document)) <= MAX_DATA:
            break
        drop(document)
    return document


def _json_object(text: str | None) -> dict[str, Any] | None:
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) and value else None


def _state(value: str, reason: str | None, reason_data: str | None) -> dict[str, Any]:
    state: dict[str, Any] = {"stateValue": value, "stateReason": reason or ""}
    data = _json_object(reason_data)
    if data:  # AWS leaves it out for a state set without data, as the initial one
        state["stateReasonData"] = data
    return state


def record_state_update(alarm: Any, old: tuple[str, str | None, str | None]) -> HistoryItem:
    """Record the alarm's change from old (state, reason, reason data) to its state now."""
    old_state, new_state = _state(*old), _state(alarm.state_value, alarm.state_reason, alarm.state_reason_data)
    document = {"version": "1.0", "oldState": old_state, "newState": new_state}
    _fitted(document, [
        lambda d: d["oldState"].pop("stateReasonData", None),
        lambda d: d["newState"].get("stateReasonData", {}).pop("evaluatedDatapoints", None),
        lambda d: d["newState"].pop("stateReasonData", None),
    ])  # fmt: skip
    summary = f"Alarm updated from {old[0]} to {alarm.state_value}"
    return _record(alarm, alarm.state_updated_timestamp, STATE_UPDATE, summary, document)


def alarm_document(alarm: Any) -> dict[str, Any]:
    """The alarm's configuration as CloudWatch writes it in a ConfigurationUpdate item."""
    document = {
        "alarmName": alarm.name,
        "alarmArn": alarm.alarm_arn,
        "alarmDescription": alarm.description,
        "alarmConfigurationUpdatedTimestamp": iso(alarm.configuration_updated_timestamp),
        "actionsEnabled": bool(alarm.actions_enabled),
        "okactions": list(alarm.ok_actions or []),  # sic: CloudWatch's own spelling in these documents
        "alarmActions": list(alarm.alarm_actions or []),
        "insufficientDataActions": list(alarm.insufficient_data_actions or []),
        "stateValue": alarm.state_value,
        "stateReason": alarm.state_reason,
        "stateUpdatedTimestamp": iso(alarm.state_updated_timestamp),
        "alarmRule": alarm.rule,
        "metricName": alarm.metric_name,
        "namespace": alarm.namespace,
        "statistic": alarm.statistic,
        "extendedStatistic": alarm.extended_statistic,
        "dimensions": [{"name": d.name, "value": d.value} for d in alarm.dimensions],
        "period": alarm.period,
        "unit": alarm.unit,
        "evaluationPeriods": alarm.evaluation_periods,
        "datapointsToAlarm": alarm.datapoints_to_alarm,
        "threshold": None if alarm.threshold is None else float(alarm.threshold),
        "comparisonOperator": alarm.comparison_operator,
        "treatMissingData": alarm.treat_missing_data,
        "evaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile,
        "metrics": [_metric_query(query) for query in alarm.metric_data_queries] or None,
        "thresholdMetricId": alarm.threshold_metric_id,
    }
    return {key: value for key, value in document.items() if value is not None}


def _metric_query(query: Any) -> dict[str, Any]:
    document = {"id": query.id, "expression": query.expression, "label": query.label, "returnData": query.return_data,
                "period": query.period}  # fmt: skip
    if query.metric_stat is not None:
        stat = query.metric_stat
        metric = {"namespace": stat.metric.namespace, "metricName": stat.metric.metric_name,
                  "dimensions": [{"name": d.name, "value": d.value} for d in stat.metric.dimensions]}  # fmt: skip
        document["metricStat"] = {"metric": metric, "period": stat.period, "stat": stat.stat, "unit": stat.unit}
    return {key: value for key, value in document.items() if value is not None}


_CHANGES = {"Create": ("createdAlarm", "created"), "Update": ("updatedAlarm", "updated"),
            "Delete": ("deletedAlarm", "deleted")}  # fmt: skip


def _configuration(change: str, configuration: dict[str, Any]) -> dict[str, Any]:
    key = _CHANGES[change][0]
    document = {"version": "1.0", "type": change, key: configuration}
    return _fitted(document, [lambda d, name=name: d[key].pop(name, None) for name in
                              ("alarmDescription", "metrics", "stateReason", "dimensions", "insufficientDataActions",
                               "okactions", "alarmActions")])  # fmt: skip


def record_configuration(alarm: Any, change: str, at: datetime) -> HistoryItem:
    """Record the alarm created, updated or deleted (change: Create, Update, Delete) at a time."""
    summary = f'Alarm "{alarm.name}" {_CHANGES[change][1]}'
    return _record(alarm, at, CONFIGURATION_UPDATE, summary, _configuration(change, alarm_document(alarm)))


def record_action(alarm: Any, topic: str, message: str, error: str | None = None) -> HistoryItem:
    """Record an alarm action run on the alarm's change of state: a message published to an SNS topic, or why not."""
    from moto.core.utils import utcnow

    document: dict[str, Any] = {
        "actionState": "Failed" if error else "Succeeded",
        "stateUpdateTimestamp": _millis(alarm.state_updated_timestamp),
        "notificationResource": topic,
    }
    if error:
        document["error"] = error
    else:
        document["publishedMessage"] = json.dumps({"default": message}, separators=(",", ":"))
    _fitted(document, [lambda d: d.pop("publishedMessage", None)])
    summary = (
        f"Failed to execute action {topic}. Received error: {error}"
        if error
        else f"Successfully executed action {topic}"
    )
    return _record(alarm, utcnow(), ACTION, summary, document)


# --- the journal --------------------------------------------------------------------------------------------


def forget_before(oldest: float) -> None:
    """Drop items older than the unix time oldest, and those beyond MAX_ITEMS per account and region."""
    from moto.cloudwatch.models import cloudwatch_backends

    statements: list[tuple[str, list[tuple[Any, ...]]]] = [("DELETE FROM alarm_history WHERE at < ?", [(oldest,)])]
    for backend in iter_backends(cloudwatch_backends):
        held = backend.__dict__.get("localaws_alarm_history")
        kept_from = held.drop_older(oldest) if held is not None else None
        if kept_from is not None and kept_from > oldest:  # some were dropped for the count: the journal's too
            statements.append(
                ("DELETE FROM alarm_history WHERE account = ? AND region = ? AND at < ?",
                 [(backend.account_id, backend.region_name, kept_from)])
            )  # fmt: skip
    recording.write(statements)


def restore(journal: Journal) -> int:
    """Put the journaled items of the retention back; return how many came back from before this start."""
    from moto.cloudwatch.models import cloudwatch_backends

    # What the stack's deployment recorded at this start, before the journal was read.
    made_now = {item.id: item for backend in iter_backends(cloudwatch_backends) for item in history_of(backend).items()}
    earlier: list[HistoryItem] = []
    for row in journal.rows(
        "SELECT * FROM alarm_history WHERE at >= ? ORDER BY at, rowid", time.time() - RETENTION_SECONDS
    ):
        if row["id"] not in made_now:
            earlier.append(HistoryItem(
                id=row["id"], seq=next(_order), account=row["account"], region=row["region"],
                alarm_name=row["alarm_name"], alarm_type=row["alarm_type"], at=row["at"], item_type=row["item_type"],
                summary=row["summary"], data=row["data"],
            ))  # fmt: skip
    kept_now = [_made_again(item, earlier) for item in made_now.values()]
    by_backend: dict[tuple[str, str], list[HistoryItem]] = {}
    for item in [*earlier, *(item for item in kept_now if item is not None)]:
        by_backend.setdefault((item.account, item.region), []).append(item)
    for (account, region), items in by_backend.items():
        history_of(_backend(account, region)).replace(items)
    return len(earlier)


def _made_again(item: HistoryItem, earlier: list[HistoryItem]) -> HistoryItem | None:
    """A creation recorded at this start as it is to be kept: None for an alarm the stack made again as it was, an
    update for one whose configuration changed since; any other item as it is."""
    document = json.loads(item.data)
    if item.item_type != CONFIGURATION_UPDATE or document.get("type") != "Create":
        return item
    changes = [
        json.loads(held.data) for held in earlier
        if held.item_type == CONFIGURATION_UPDATE and (held.account, held.region, held.alarm_name) ==
        (item.account, item.region, item.alarm_name)
    ]  # fmt: skip
    if not changes or changes[-1].get("type") == "Delete":
        return item  # a new alarm
    before = changes[-1].get("createdAlarm") or changes[-1].get("updatedAlarm") or {}
    now = document["createdAlarm"]
    if _settings(before) == _settings(now):
        recording.write([("DELETE FROM alarm_history WHERE id = ?", [(item.id,)])])
        return None
    updated = replace(item, summary=f'Alarm "{item.alarm_name}" updated', data=_compact(_configuration("Update", now)))
    recording.write([(_INSERT, [updated.row()])])
    return updated


def _settings(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in _VOLATILE}
