"""ALARM periods from an alarm's changes of state, and history items read as changes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from backend.alarm_history import AlarmPeriod, StateChange, alarm_periods, parse_change
from pages.ui.widgets import format_duration

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def change(minutes: int, from_state: str, to_state: str) -> StateChange:
    return StateChange(at=at(minutes), from_state=from_state, to_state=to_state)


@pytest.mark.parametrize(
    ("changes", "current", "expected"),
    [
        pytest.param([], "OK", [], id="no changes, OK"),
        pytest.param([], "ALARM", [(None, None)], id="no changes, in ALARM since before the window"),
        pytest.param([change(0, "INSUFFICIENT_DATA", "OK")], "OK", [], id="never in ALARM"),
        pytest.param([change(0, "OK", "ALARM")], "ALARM", [(0, None)], id="ongoing"),
        pytest.param([change(0, "OK", "ALARM"), change(3, "ALARM", "OK")], "OK", [(0, 3)], id="one period"),
        pytest.param(
            [change(0, "OK", "ALARM"), change(3, "ALARM", "OK"), change(5, "OK", "ALARM"), change(9, "ALARM", "OK")],
            "OK",
            [(5, 9), (0, 3)],
            id="two periods, newest first",
        ),
        pytest.param(
            [change(9, "ALARM", "OK"), change(5, "OK", "ALARM"), change(3, "ALARM", "OK"), change(0, "OK", "ALARM")],
            "OK",
            [(5, 9), (0, 3)],
            id="newest first in, same periods",
        ),
        pytest.param([change(2, "ALARM", "OK")], "OK", [(None, 2)], id="started before the window"),
        pytest.param(
            [change(0, "OK", "ALARM"), change(1, "ALARM", "ALARM"), change(4, "ALARM", "INSUFFICIENT_DATA")],
            "INSUFFICIENT_DATA",
            [(0, 4)],
            id="set to ALARM again, ended by missing data",
        ),
        pytest.param(
            [change(0, "OK", "INSUFFICIENT_DATA"), change(1, "INSUFFICIENT_DATA", "ALARM")],
            "ALARM",
            [(1, None)],
            id="from missing data to ALARM",
        ),
    ],
)
def test_alarm_periods(changes: list[StateChange], current: str, expected: list[tuple[int | None, int | None]]) -> None:
    periods = alarm_periods(changes, current)
    assert [(p.start, p.end) for p in periods] == [
        (None if start is None else at(start), None if end is None else at(end)) for start, end in expected
    ]


def test_a_period_keeps_where_the_data_that_fired_it_starts_and_counts_failures_from_there() -> None:
    fired = StateChange(at=at(2), from_state="OK", to_state="ALARM", watched_from=at(1))
    (period,) = alarm_periods([fired, change(5, "ALARM", "OK")])
    assert period.watched_from == at(1)
    window_start = at(-60)
    assert period.covers(at(1), window_start)
    assert period.covers(at(5), window_start)
    assert not period.covers(at(0), window_start)
    assert not period.covers(at(6), window_start)
    assert period.duration(at(100)) == timedelta(minutes=3)


def test_a_period_before_the_window_counts_from_the_window_and_an_open_one_until_now() -> None:
    period = AlarmPeriod(start=None, end=at(2))
    assert period.covers(at(-60), at(-60))
    assert not period.covers(at(-61), at(-60))
    assert period.duration(at(3)) is None
    assert AlarmPeriod(start=at(0)).duration(at(7)) == timedelta(minutes=7)
    assert AlarmPeriod(start=at(0)).covers(at(1_000), at(-60))


def _item(data: object, summary: str = "Alarm updated from OK to ALARM") -> dict[str, object]:
    text = data if isinstance(data, str) else json.dumps(data)
    return {"Timestamp": T0, "HistoryItemType": "StateUpdate", "HistorySummary": summary, "HistoryData": text}


def test_a_history_item_is_read_from_its_json_document() -> None:
    document = {
        "version": "1.0",
        "oldState": {"stateValue": "OK", "stateReason": "fine"},
        "newState": {
            "stateValue": "ALARM",
            "stateReason": "Threshold Crossed: <b>1 datapoint</b>",
            "stateReasonData": {"startDate": "2026-11-27T11:59:00.000+0000", "period": 60},
        },
    }
    parsed = parse_change(_item(document))
    assert parsed == StateChange(
        at=T0,
        from_state="OK",
        to_state="ALARM",
        reason="Threshold Crossed: <b>1 datapoint</b>",
        watched_from=datetime(2026, 11, 27, 11, 59, tzinfo=UTC),
    )


@pytest.mark.parametrize("data", ["not json", "[]", json.dumps({"oldState": {}}), ""])
def test_a_history_item_without_a_readable_document_falls_back_to_its_summary(data: str) -> None:
    parsed = parse_change(_item(data, "Alarm updated from ALARM to OK"))
    assert parsed is not None
    assert (parsed.from_state, parsed.to_state, parsed.reason) == ("ALARM", "OK", "")
    assert parse_change(_item(data, "something else")) is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "–"), (0, "0 s"), (45.4, "45 s"), (200, "3 min 20 s"), (3600, "1 h 00 min"), (7500, "2 h 05 min")],
)
def test_durations_are_short(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text
