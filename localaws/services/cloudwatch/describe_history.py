"""DescribeAlarmHistory, which moto 5.2.5 lacks, answered from the history the local CloudWatch records (history.py),
and the points in moto where that history is recorded: a change of state, PutMetricAlarm and DeleteAlarms.

It filters and pages as CloudWatch does: AlarmName, AlarmTypes (metric alarms only when left out), HistoryItemType,
StartDate and EndDate (both inclusive), MaxRecords (1 to 100, 100 by default) with NextToken, newest first unless
ScanBy is TimestampAscending. A deleted alarm's history stays. Through moto's response class, it answers in both
protocols moto serves CloudWatch in: JSON (what botocore picks) and query.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from localaws.services.cloudwatch.history import HistoryItem, history_of, record_configuration, record_state_update
from localaws.services.cloudwatch.journal import recording
from localaws.services.cloudwatch.store import epoch
from localaws.services.patches import Correction, Kind

alarm_history = Correction(
    "CloudWatch alarm history",
    Kind.FIX,
    "moto 5.2.5 answers DescribeAlarmHistory with HTTP 500 (not implemented) and keeps no history a client can read. "
    "Each change of state (SetAlarmState or an evaluation), each alarm created, updated or deleted, and each alarm "
    "action run is recorded with CloudWatch's summary and JSON document, kept two weeks (also for deleted alarms) and "
    "journaled; DescribeAlarmHistory answers from it with CloudWatch's filters, paging and order. moto's own list of "
    "an alarm's past states, which nothing reads, is no longer grown.",
)
_RESPONSE = "moto.cloudwatch.responses:CloudWatchResponse"
_ITEM_TYPES = ("ConfigurationUpdate", "StateUpdate", "Action", "AlarmContributorStateUpdate", "AlarmContributorAction")
_SCAN_BY = ("TimestampDescending", "TimestampAscending")
DEFAULT_MAX_RECORDS = 100


def _validation_error(problems: list[str]) -> Exception:
    from moto.cloudwatch.exceptions import ValidationError

    count = f"{len(problems)} validation error{'' if len(problems) == 1 else 's'} detected"
    return ValidationError(f"{count}: {'; '.join(problems)}")


def _invalid_token() -> Exception:
    from moto.cloudwatch.exceptions import CloudWatchException

    class InvalidNextToken(CloudWatchException):
        code = "InvalidNextToken"

    return InvalidNextToken("The NextToken is not valid.")


def _enum_problem(value: str | None, member: str, allowed: Sequence[str]) -> list[str]:
    if value is None or value in allowed:
        return []
    return [f"Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: "
            f"[{', '.join(allowed)}]"]  # fmt: skip


def encode_token(item: HistoryItem) -> str:
    """A NextToken: the place, in time order, of the last item returned."""
    return base64.urlsafe_b64encode(f"{item.at!r}:{item.seq}".encode()).decode()


def decode_token(token: str) -> tuple[float, int]:
    """The place a NextToken names; InvalidNextToken when it is none of ours."""
    try:
        at, _, seq = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        return float(at), int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _invalid_token() from None


def select(
    items: Sequence[HistoryItem],
    *,
    alarm_name: str | None = None,
    alarm_types: Sequence[str] = ("MetricAlarm",),
    item_type: str | None = None,
    start: float | None = None,
    end: float | None = None,
    ascending: bool = False,
    after: tuple[float, int] | None = None,
    limit: int = DEFAULT_MAX_RECORDS,
) -> tuple[list[HistoryItem], HistoryItem | None]:
    """The page of items (oldest first) the filters select after a place in the scan's order, and the last item
    returned when more follow."""
    chosen = [
        item for item in (items if ascending else reversed(items))
        if (alarm_name is None or item.alarm_name == alarm_name) and item.alarm_type in alarm_types
        and (item_type is None or item.item_type == item_type) and (start is None or item.at >= start)
        and (end is None or item.at <= end)
        and (after is None or (item.key > after if ascending else item.key < after))
    ]  # fmt: skip
    page = chosen[:limit]
    return page, page[-1] if len(chosen) > limit else None


def _shape(item: HistoryItem) -> dict[str, Any]:
    return {
        "AlarmName": item.alarm_name,
        "AlarmType": item.alarm_type,
        "Timestamp": datetime.fromtimestamp(item.at, UTC),
        "HistoryItemType": item.item_type,
        "HistorySummary": item.summary,
        "HistoryData": item.data,
    }


# Refused once moto implements describe_alarm_history itself: then this correction is to be reviewed.
@alarm_history.adds(f"{_RESPONSE}.describe_alarm_history")
def describe_alarm_history(self: Any) -> Any:
    from moto.core.responses import ActionResult

    max_records = self._get_param("MaxRecords")
    item_type, scan_by = self._get_param("HistoryItemType"), self._get_param("ScanBy")
    problems = _enum_problem(item_type, "historyItemType", _ITEM_TYPES) + _enum_problem(scan_by, "scanBy", _SCAN_BY)
    if max_records is not None and not 1 <= int(max_records) <= DEFAULT_MAX_RECORDS:
        bound = "greater than or equal to 1" if int(max_records) < 1 else "less than or equal to 100"
        problems.append(f"Value '{max_records}' at 'maxRecords' failed to satisfy constraint: Member must have value "
                        f"{bound}")  # fmt: skip
    if problems:
        raise _validation_error(problems)
    token = self._get_param("NextToken")
    start, end = self._get_param("StartDate"), self._get_param("EndDate")
    page, last = select(
        history_of(self.cloudwatch_backend).items(),
        alarm_name=self._get_param("AlarmName"),
        alarm_types=self._get_param("AlarmTypes") or ("MetricAlarm",),
        item_type=item_type,
        start=None if start is None else epoch(start),
        end=None if end is None else epoch(end),
        ascending=scan_by == "TimestampAscending",
        after=decode_token(token) if token else None,
        limit=int(max_records or DEFAULT_MAX_RECORDS),
    )
    result: dict[str, Any] = {"AlarmHistoryItems": [_shape(item) for item in page]}
    if last is not None:
        result["NextToken"] = encode_token(last)
    return ActionResult(result)


@alarm_history.replaces(f"{_RESPONSE}.put_metric_alarm", params=["self"])
def put_metric_alarm(original: Any, self: Any) -> Any:
    backend, name = self.cloudwatch_backend, self._get_param("AlarmName")
    made = name not in backend.alarms
    answer = original(self)
    alarm = backend.alarms.get(name)
    if alarm is not None:
        record_configuration(alarm, "Create" if made else "Update", alarm.configuration_updated_timestamp)
        recording.sync()  # acknowledged once on disk, as the other acknowledged changes
    return answer


@alarm_history.replaces(f"{_RESPONSE}.delete_alarms", params=["self"])
def delete_alarms(original: Any, self: Any) -> Any:
    from moto.core.utils import utcnow

    backend = self.cloudwatch_backend
    alarms = [
        backend.alarms[name] for name in dict.fromkeys(self._get_param("AlarmNames", [])) if name in backend.alarms
    ]
    answer = original(self)
    deleted_at = utcnow()
    for alarm in alarms:
        if backend.alarms.get(alarm.name) is not alarm:
            record_configuration(alarm, "Delete", deleted_at)
    recording.sync()
    return answer


@alarm_history.replaces(
    "moto.cloudwatch.models:Alarm.update_state",
    params=["self", "reason", "reason_data", "state_value"],
    source=["self.history.append("],
)
def update_state(original: Any, self: Any, reason: str, reason_data: str, state_value: str) -> None:
    old = (self.state_value, self.state_reason, self.state_reason_data)
    original(self, reason, reason_data, state_value)
    self.history.clear()  # moto's tuple per change, which nothing reads: it grew for the alarm's life
    # As on AWS, setting the state an alarm already has is no transition: nothing to record.
    if old[0] != self.state_value:
        record_state_update(self, old)


CORRECTIONS = (alarm_history,)
