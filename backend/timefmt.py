"""Times as people read them: always in a named zone (UTC unless the viewer picks their browser's)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC_NAME = "UTC"


def zone_named(name: str | None) -> ZoneInfo:
    """The IANA zone of that name; UTC when there is none or it is unknown."""
    if not name:
        return ZoneInfo(UTC_NAME)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(UTC_NAME)


def zone_label(zone: ZoneInfo) -> str:
    """The zone's name for headers and axis titles: UTC, or the IANA name (e.g. Europe/Paris)."""
    return UTC_NAME if zone.key in {"UTC", "Etc/UTC", "Etc/Zulu", "Zulu", "GMT", "Etc/GMT"} else zone.key


def _aware(at: datetime) -> datetime:
    # AWS answers in UTC; a naive time here came from one of its answers.
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def format_time(at: datetime | None, zone: ZoneInfo, *, millis: bool = False, date: bool = True) -> str:
    """A time in the zone, saying the zone: 2026-11-26 23:04:05 UTC, 2026-11-27 00:04:05 CET (a dash for none)."""
    if at is None:
        return "–"
    local = _aware(at).astimezone(zone)
    text = local.strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S")
    if millis:
        text += f".{local.microsecond // 1000:03d}"
    return f"{text} {UTC_NAME if zone_label(zone) == UTC_NAME else local.strftime('%Z')}"


def wall_times(values: Iterable[datetime | None], zone: ZoneInfo) -> list[datetime | None]:
    """The times as wall-clock times of the zone, without tzinfo: charts draw them as they are, under a title that
    names the zone."""
    return [None if at is None else _aware(at).astimezone(zone).replace(tzinfo=None) for at in values]


def time_axis(since: datetime, until: datetime, zone: ZoneInfo) -> dict[str, object]:
    """Plotly x-axis settings for a window: its whole range (a single bucket still shows where it lies), ticks at
    whole minutes or hours, and a title with the zone."""
    start, end = wall_times([since, until], zone)
    return {
        "range": [start, end],
        "tickformat": "%H:%M" if until - since <= timedelta(days=1) else "%b %d %H:%M",
        "hoverformat": "%Y-%m-%d %H:%M",
        "title": {"text": f"Time ({zone_label(zone)})"},
    }
