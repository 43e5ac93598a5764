"""Times always say their zone; chart axes span their window whatever the data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.timefmt import format_time, time_axis, wall_times, zone_label, zone_named

WINTER = datetime(2026, 1, 15, 23, 4, 5, 678000, tzinfo=UTC)
SUMMER = datetime(2026, 7, 15, 23, 4, 5, 678000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "at", "expected"),
    [
        ("UTC", WINTER, "2026-01-15 23:04:05 UTC"),
        (None, WINTER, "2026-01-15 23:04:05 UTC"),
        ("Not/AZone", WINTER, "2026-01-15 23:04:05 UTC"),
        ("Europe/Paris", WINTER, "2026-01-16 00:04:05 CET"),
        ("Europe/Paris", SUMMER, "2026-07-16 01:04:05 CEST"),
        ("America/New_York", WINTER, "2026-01-15 18:04:05 EST"),
        ("America/New_York", SUMMER, "2026-07-15 19:04:05 EDT"),
        ("Asia/Kolkata", WINTER, "2026-01-16 04:34:05 IST"),
        ("Australia/Sydney", WINTER, "2026-01-16 10:04:05 AEDT"),
    ],
)
def test_a_time_is_shown_with_its_zone(zone: str | None, at: datetime, expected: str) -> None:
    assert format_time(at, zone_named(zone)) == expected


def test_the_dst_change_is_followed() -> None:
    zone = zone_named("Europe/Berlin")
    before = datetime(2026, 3, 29, 0, 59, tzinfo=UTC)
    assert format_time(before, zone) == "2026-03-29 01:59:00 CET"
    assert format_time(before + timedelta(minutes=1), zone) == "2026-03-29 03:00:00 CEST"


def test_milliseconds_naive_times_and_none() -> None:
    assert format_time(WINTER, zone_named("UTC"), millis=True) == "2026-01-15 23:04:05.678 UTC"
    assert format_time(WINTER.replace(tzinfo=None), zone_named("UTC"), date=False) == "23:04:05 UTC"
    assert format_time(None, zone_named("UTC")) == "–"


def test_labels_and_wall_times() -> None:
    assert zone_label(zone_named("Etc/UTC")) == "UTC"
    assert zone_label(zone_named("Europe/Paris")) == "Europe/Paris"
    assert wall_times([WINTER, None], zone_named("Europe/Paris")) == [datetime(2026, 1, 16, 0, 4, 5, 678000), None]


def test_an_axis_spans_the_window_so_one_bucket_reads_right() -> None:
    since = datetime(2026, 1, 15, 1, 0, tzinfo=UTC)
    axis = time_axis(since, since + timedelta(minutes=15), zone_named("UTC"))
    assert axis["range"] == [datetime(2026, 1, 15, 1, 0), datetime(2026, 1, 15, 1, 15)]
    assert axis["tickformat"] == "%H:%M"  # never 01:02:59.999
    assert axis["title"] == {"text": "Time (UTC)"}
    long = time_axis(since, since + timedelta(days=2), zone_named("Europe/Paris"))
    assert long["tickformat"] == "%b %d %H:%M"
    assert long["title"] == {"text": "Time (Europe/Paris)"}
