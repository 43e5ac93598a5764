"""The stack's alarms' recent changes of state (DescribeAlarmHistory), the ALARM periods they make, and the orders
that failed in each period (ListExecutions), the same on the local AWS and on AWS."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from backend import alarms, aws
from backend.errors import translated
from backend.executions import OrderSummary
from backend.orders import errors_of, summary_of

WINDOW = timedelta(hours=24)
MAX_CHANGES = 200  # per alarm in the window: a flapping alarm's older changes are left out (and said so)
MAX_FAILED_SHOWN = 50  # per period, newest first
MAX_FAILED_SCANNED = 2_000  # per status: a bound on the listing, whatever the window holds
# Executions are listed newest start first; one stopping in a period started at most this long before it (a failing
# order's retries take seconds, the state machine sets no timeout): older starts end the listing.
LONGEST_RUN = timedelta(minutes=15)
# An execution that ended like this is one an alarm counts; ABORTED ones were stopped by an operator.
FAILED_STATUSES = ("FAILED", "TIMED_OUT")
_SUMMARY = re.compile(r"from (\w+) to (\w+)")


class StateChange(BaseModel):
    """One change of an alarm's state: when, from and to what, AWS's reason, and the first period it judged."""

    at: datetime
    from_state: str
    to_state: str
    reason: str = ""
    watched_from: datetime | None = None  # stateReasonData.startDate: the start of the periods the evaluation judged


class AlarmPeriod(BaseModel):
    """A time an alarm spent in ALARM, and the orders that failed in it."""

    start: datetime | None  # None: in ALARM since before the window
    end: datetime | None = None  # None: still in ALARM
    watched_from: datetime | None = None  # where the data that fired it starts (before start: alarms judge late)
    failed: list[OrderSummary] = []  # newest stop first, at most MAX_FAILED_SHOWN
    failed_count: int = 0  # all of them, also those not listed

    def duration(self, now: datetime) -> timedelta | None:
        """How long it lasted, or has lasted until now; None when it started before the window."""
        return None if self.start is None else (self.end or now) - self.start

    def counts_from(self, window_start: datetime) -> datetime:
        """Where its failures start counting: the data that fired it (or its start, or the window's)."""
        since = self.start or window_start
        return self.watched_from if self.watched_from is not None and self.watched_from < since else since

    def covers(self, at: datetime, window_start: datetime) -> bool:
        """Whether a failure at that time counts in this period: from the data that fired it to its end."""
        return self.counts_from(window_start) <= at and (self.end is None or at <= self.end)


class AlarmHistory(BaseModel):
    """One alarm's changes and ALARM periods in the window, newest first."""

    alarm: alarms.Alarm
    changes: list[StateChange]
    periods: list[AlarmPeriod]
    truncated: bool = False  # more changes than MAX_CHANGES: the oldest are left out


class HistoryReport(BaseModel):
    """Every stack alarm's history over a window."""

    since: datetime
    until: datetime
    alarms: list[AlarmHistory]


def _time(text: Any) -> datetime | None:
    try:
        at = datetime.fromisoformat(str(text).replace("Z", "+00:00")) if text else None
    except ValueError:
        return None
    return at if at is None or at.tzinfo else at.replace(tzinfo=UTC)


def parse_change(item: dict[str, Any]) -> StateChange | None:
    """A StateUpdate history item as a change (its HistoryData JSON, else its summary); None when it says neither."""
    try:
        data = json.loads(item.get("HistoryData") or "{}")
    except ValueError:
        data = {}
    old = data.get("oldState") if isinstance(data, dict) else None
    new = data.get("newState") if isinstance(data, dict) else None
    if isinstance(old, dict) and isinstance(new, dict) and old.get("stateValue") and new.get("stateValue"):
        reason_data = new.get("stateReasonData")
        return StateChange(
            at=item["Timestamp"],
            from_state=str(old["stateValue"]),
            to_state=str(new["stateValue"]),
            reason=str(new.get("stateReason") or ""),
            watched_from=_time(reason_data.get("startDate")) if isinstance(reason_data, dict) else None,
        )
    found = _SUMMARY.search(item.get("HistorySummary", ""))
    if not found:
        return None
    return StateChange(at=item["Timestamp"], from_state=found[1], to_state=found[2])


def alarm_periods(changes: Sequence[StateChange], current_state: str | None = None) -> list[AlarmPeriod]:
    """The ALARM periods that changes (any order) make, newest first; an alarm in ALARM before the first change, or
    with no change and current_state ALARM, makes a period that started before the window."""
    ordered = sorted(changes, key=lambda change: change.at)
    periods: list[AlarmPeriod] = []
    open_period: AlarmPeriod | None = None
    if (ordered and ordered[0].from_state == "ALARM") or (not ordered and current_state == "ALARM"):
        open_period = AlarmPeriod(start=None)
    for change in ordered:
        if change.to_state == "ALARM" and open_period is None:
            open_period = AlarmPeriod(start=change.at, watched_from=change.watched_from)
        elif change.to_state != "ALARM" and open_period is not None:
            periods.append(open_period.model_copy(update={"end": change.at}))
            open_period = None
    if open_period is not None:
        periods.append(open_period)
    return periods[::-1]


def _changes(cloudwatch: Any, alarm_name: str, since: datetime, until: datetime) -> tuple[list[StateChange], bool]:
    """The alarm's state changes in the window, newest first, and whether there were more than MAX_CHANGES."""
    pages = cloudwatch.get_paginator("describe_alarm_history").paginate(
        AlarmName=alarm_name,
        HistoryItemType="StateUpdate",
        StartDate=since,
        EndDate=until,
        ScanBy="TimestampDescending",
        PaginationConfig={"MaxItems": MAX_CHANGES + 1, "PageSize": 100},
    )
    items = [item for page in pages for item in page.get("AlarmHistoryItems", [])]
    changes = [change for item in items[:MAX_CHANGES] if (change := parse_change(item))]
    return changes, len(items) > MAX_CHANGES


def _failed_executions(since: datetime) -> list[dict[str, Any]]:
    """Executions that ended FAILED or TIMED_OUT since then, newest stop first (bounded per status)."""
    sfn = aws.client("stepfunctions")
    arn = aws.resources().state_machine_arn
    found: list[dict[str, Any]] = []
    for status in FAILED_STATUSES:
        scanned = 0
        pages = sfn.get_paginator("list_executions").paginate(
            stateMachineArn=arn, statusFilter=status, PaginationConfig={"PageSize": 200}
        )
        for page in pages:
            items = page.get("executions", [])
            scanned += len(items)
            found += [item for item in items if item.get("stopDate") and item["stopDate"] >= since]
            if not items or items[-1]["startDate"] < since - LONGEST_RUN or scanned >= MAX_FAILED_SCANNED:
                break
    return sorted(found, key=lambda item: item["stopDate"], reverse=True)


def _with_failures(
    periods: list[AlarmPeriod], executions: Sequence[dict[str, Any]], window_start: datetime
) -> list[tuple[AlarmPeriod, list[dict[str, Any]]]]:
    matched = []
    for period in periods:
        inside = [item for item in executions if period.covers(item["stopDate"], window_start)]
        matched.append((period.model_copy(update={"failed_count": len(inside)}), inside[:MAX_FAILED_SHOWN]))
    return matched


def _summaries(items: Iterable[dict[str, Any]]) -> dict[str, OrderSummary]:
    """Order summaries (with each failed execution's error: one DescribeExecution each, cached)."""
    unique = {item["executionArn"]: item for item in items}
    errors = errors_of(aws.client("stepfunctions"), unique.values())
    return {arn: summary_of(item, errors.get(arn)) for arn, item in unique.items()}


@translated
def recent_history(window: timedelta = WINDOW) -> HistoryReport:
    """Each stack alarm's state changes over the window (newest first), its ALARM periods with their duration, and
    the orders (execution names are order ids) that failed in each period, from the data that fired it to its end."""
    until = datetime.now(UTC)
    since = until - window
    cloudwatch = aws.client("cloudwatch")
    found: list[tuple[alarms.Alarm, list[StateChange], bool, list[AlarmPeriod]]] = []
    for alarm in alarms.stack_alarms():
        changes, truncated = _changes(cloudwatch, alarm.name, since, until)
        found.append((alarm, changes, truncated, alarm_periods(changes, alarm.state)))
    periods = [period for *_, alarm_periods_ in found for period in alarm_periods_]
    if not periods:
        return HistoryReport(since=since, until=until, alarms=[_history(a, c, t, []) for a, c, t, _ in found])
    executions = _failed_executions(min(period.counts_from(since) for period in periods))
    matched = [
        (alarm, changes, truncated, _with_failures(ps, executions, since)) for alarm, changes, truncated, ps in found
    ]
    summaries = _summaries(item for *_, pairs in matched for _, items in pairs for item in items)
    histories = []
    for alarm, changes, truncated, pairs in matched:
        filled = [period.model_copy(update={"failed": [summaries[i["executionArn"]] for i in items]})
                  for period, items in pairs]  # fmt: skip
        histories.append(_history(alarm, changes, truncated, filled))
    return HistoryReport(since=since, until=until, alarms=histories)


def _history(
    alarm: alarms.Alarm, changes: list[StateChange], truncated: bool, periods: list[AlarmPeriod]
) -> AlarmHistory:
    return AlarmHistory(alarm=alarm, changes=changes, periods=periods, truncated=truncated)
