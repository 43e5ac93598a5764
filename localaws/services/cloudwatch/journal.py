"""Datapoints, alarm states and alarm history journaled (history.py writes and reads its own table).

Every datapoint is journaled in the form kept in memory, merged further: values with counts per series, time and
value, statistic sets per series and time (the telemetry's are per minute). The telemetry's writes go in the writer's
next batch; a client's PutMetricData answers once its datapoints are on disk. An alarm's state, reason, reason data
and time of its last transition are journaled when it is made and at each change (SetAlarmState or an evaluation), so
a restart neither resets it nor announces a transition again; a client's SetAlarmState answers once it is on disk.
"""

from __future__ import annotations

import datetime
import json
import time
from collections import defaultdict
from typing import Any

from localaws.journal import Journal, Tables
from localaws.services.backends import iter_backends
from localaws.services.cloudwatch.store import PUT_METRIC_ALARM_PARAMETERS, epoch, weighted_datum_class
from localaws.services.patches import Correction, Kind
from localaws.services.recording import Recording

TABLES = Tables(
    """CREATE TABLE IF NOT EXISTS metric_values (
    series TEXT NOT NULL, at REAL NOT NULL, value REAL NOT NULL, count REAL NOT NULL, PRIMARY KEY (series, at, value));
CREATE INDEX IF NOT EXISTS metric_values_by_time ON metric_values (at);
CREATE TABLE IF NOT EXISTS metric_sets (
    series TEXT NOT NULL, at REAL NOT NULL, count REAL NOT NULL, total REAL NOT NULL, minimum REAL NOT NULL,
    maximum REAL NOT NULL, PRIMARY KEY (series, at));
CREATE INDEX IF NOT EXISTS metric_sets_by_time ON metric_sets (at);
CREATE TABLE IF NOT EXISTS alarm_states (
    arn TEXT PRIMARY KEY, state TEXT NOT NULL, reason TEXT, reason_data TEXT, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS alarm_history (
    id TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, alarm_name TEXT NOT NULL,
    alarm_type TEXT NOT NULL, at REAL NOT NULL, item_type TEXT NOT NULL, summary TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS alarm_history_by_time ON alarm_history (at);"""
)
recording = Recording()
_METRIC_TABLES = ("metric_values", "metric_sets")
_ADD_VALUES = (
    "INSERT INTO metric_values VALUES (?, ?, ?, ?) "
    "ON CONFLICT (series, at, value) DO UPDATE SET count = count + excluded.count"
)
_ADD_SET = (
    "INSERT INTO metric_sets VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (series, at) DO UPDATE SET "
    "count = count + excluded.count, total = total + excluded.total, minimum = min(minimum, excluded.minimum), "
    "maximum = max(maximum, excluded.maximum)"
)
_BACKEND = "moto.cloudwatch.models:CloudWatchBackend"
_RESPONSE = "moto.cloudwatch.responses:CloudWatchResponse"

journal_datapoints = Correction(
    "CloudWatch journal",
    Kind.HOOK,
    "Every PutMetricData datum is written ahead to the journal; a client's PutMetricData answers once it is on disk.",
)
journal_datapoints.expects("moto.core.utils:utcnow", params=[])


def _series(backend: Any, namespace: str, member: dict[str, Any]) -> str:
    dimensions = [[d["Name"], d["Value"]] for d in member.get("Dimensions") or []]
    key = [backend.account_id, backend.region_name, namespace, member["MetricName"], dimensions, member.get("Unit")]
    return json.dumps(key, separators=(",", ":"))


@journal_datapoints.replaces(f"{_BACKEND}.put_metric_data", params=["self", "namespace", "metric_data"])
def put_metric_data(original: Any, self: Any, namespace: str, metric_data: list[dict[str, Any]]) -> None:
    from moto.core.utils import utcnow

    # moto stamps a datum without a timestamp with its own now: the journal must have the same one.
    now = utcnow()
    metric_data = [member if member.get("Timestamp") else {**member, "Timestamp": now} for member in metric_data]
    original(self, namespace, metric_data)
    if not recording.on:
        return
    values: list[tuple[Any, ...]] = []
    sets: list[tuple[Any, ...]] = []
    for member in metric_data:
        series, at = _series(self, namespace, member), epoch(member["Timestamp"])
        if member.get("Values"):
            counts = member.get("Counts") or [1] * len(member["Values"])
            values += [(series, at, float(v), float(c)) for v, c in zip(member["Values"], counts, strict=False)]
        elif member.get("StatisticValues"):
            stats = member["StatisticValues"]
            sets.append((series, at, float(stats["SampleCount"]), float(stats["Sum"]), float(stats["Minimum"]),
                         float(stats["Maximum"])))  # fmt: skip
        else:
            values.append((series, at, float(member.get("Value", 0)), 1.0))
    recording.write([(_ADD_VALUES, values), (_ADD_SET, sets)])


recording.answers_when_recorded(journal_datapoints, f"{_RESPONSE}.put_metric_data")


def forget_datapoints_before(oldest: float) -> None:
    """Delete the journaled datapoints older than the unix time oldest (also those a restart left out as too old: a
    range of an index, usually empty)."""
    recording.write([(f"DELETE FROM {table} WHERE at < ?", [(oldest,)]) for table in _METRIC_TABLES])  # noqa: S608


def restore_datapoints(journal: Journal, keep_seconds: float) -> dict[str, int]:
    """Put the journaled datapoints of the last keep_seconds back (merged: one datum per value, or set, and time)."""
    from moto.cloudwatch.models import MetricAggregatedDatum, cloudwatch_backends

    weighted_cls = weighted_datum_class()
    oldest = time.time() - keep_seconds
    restored: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for table in _METRIC_TABLES:
        for row in journal.rows(f"SELECT * FROM {table} WHERE at >= ? ORDER BY at", oldest):  # noqa: S608
            account, region, namespace, name, dimensions, unit = json.loads(row["series"])
            dimensions = [{"Name": key, "Value": value} for key, value in dimensions]
            # Naive UTC, as moto's request parser and its own clock make them.
            at = datetime.datetime.fromtimestamp(row["at"], datetime.UTC).replace(tzinfo=None)
            if table == "metric_values":
                datum = weighted_cls(namespace, name, row["value"], row["count"], dimensions, at, unit)
            else:
                datum = MetricAggregatedDatum(namespace, name, row["minimum"], row["maximum"], row["count"],
                                              row["total"], dimensions, at, unit)  # fmt: skip
            restored[(account, region)].append(datum)
    for (account, region), data in restored.items():
        cloudwatch_backends[account][region].metric_data.extend(data)
    return {"datapoints": sum(len(data) for data in restored.values())}


journal_alarm_states = Correction(
    "CloudWatch alarm state journal",
    Kind.HOOK,
    "Each alarm's state is journaled as it is made and as it changes, and forgotten when the alarm is deleted; a "
    "client's SetAlarmState answers once the change is on disk.",
)


def _updated(alarm: Any) -> float:
    return alarm.state_updated_timestamp.replace(tzinfo=datetime.UTC).timestamp()  # moto's clock: naive UTC


def _record_state(alarm: Any, insert: str) -> None:
    if recording.on:
        row = (alarm.alarm_arn, alarm.state_value, alarm.state_reason, alarm.state_reason_data, _updated(alarm))
        recording.write([(f"{insert} INTO alarm_states VALUES (?, ?, ?, ?, ?)", [row])])


@journal_alarm_states.replaces(
    f"{_BACKEND}.put_metric_alarm",
    params=PUT_METRIC_ALARM_PARAMETERS,
)  # fmt: skip
def put_metric_alarm(original: Any, self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    made = name not in self.alarms
    alarm = original(self, name, *args, **kwargs)
    if made:
        # Kept if journaled already: the stack's alarms are made again at each start, their state comes back.
        _record_state(alarm, "INSERT OR IGNORE")
    return alarm


@journal_alarm_states.replaces(
    "moto.cloudwatch.models:Alarm.update_state", params=["self", "reason", "reason_data", "state_value"]
)
def update_state(original: Any, self: Any, reason: str, reason_data: str, state_value: str) -> None:
    original(self, reason, reason_data, state_value)
    _record_state(self, "INSERT OR REPLACE")


@journal_alarm_states.replaces(f"{_BACKEND}.delete_alarms", params=["self", "alarm_names"])
def delete_alarms(original: Any, self: Any, alarm_names: list[str]) -> None:
    arns = [(self.alarms[name].alarm_arn,) for name in alarm_names if name in self.alarms]
    original(self, alarm_names)
    recording.write([("DELETE FROM alarm_states WHERE arn = ?", arns)])


recording.answers_when_recorded(journal_alarm_states, f"{_RESPONSE}.set_alarm_state")


def restore_alarm_states(journal: Journal) -> dict[str, int]:
    """Give the alarms the stack made again the states they had (their actions are not run again)."""
    from moto.cloudwatch.models import cloudwatch_backends

    backends = iter_backends(cloudwatch_backends)
    alarms = {alarm.alarm_arn: alarm for backend in backends for alarm in list(backend.alarms.values())}
    restored = 0
    for row in journal.rows("SELECT * FROM alarm_states"):
        alarm = alarms.get(row["arn"])
        if alarm is None:
            continue  # made through the API, not by the stack: not made again at start
        if row["updated"] == _updated(alarm):
            continue  # journaled as it was made at this start: nothing came back
        alarm.state_value, alarm.state_reason, alarm.state_reason_data = row["state"], row["reason"], row["reason_data"]
        updated = datetime.datetime.fromtimestamp(row["updated"], datetime.UTC)
        alarm.state_updated_timestamp = updated.replace(tzinfo=None)  # moto's clock: naive UTC
        restored += 1
    return {"alarm_states": restored}


CORRECTIONS = (journal_datapoints, journal_alarm_states)
