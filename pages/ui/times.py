"""The display zone: UTC unless ORDERS_DISPLAY_TIME_ZONE=browser or the viewer picks their browser's zone."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from backend import timefmt

UTC_CHOICE, BROWSER_CHOICE = "UTC", "Browser"
_CHOICE_KEY = "display_time_zone"  # not a widget key: it outlives pages that do not draw the setting


def _default() -> str:
    return BROWSER_CHOICE if os.environ.get("ORDERS_DISPLAY_TIME_ZONE", "").lower() == "browser" else UTC_CHOICE


def browser_zone() -> str | None:
    """The browser's IANA zone, when the browser told it."""
    try:
        return st.context.timezone
    except Exception:  # no browser session (bare script, tests)
        return None


def setting() -> ZoneInfo:
    """Draw the "Times in" setting in the sidebar; return the zone times are shown in."""
    current = st.session_state.get(_CHOICE_KEY, _default())
    browser = browser_zone()
    with st.sidebar:
        choice = st.selectbox(
            "Times in",
            [UTC_CHOICE, BROWSER_CHOICE],
            index=[UTC_CHOICE, BROWSER_CHOICE].index(current),
            format_func=lambda c: f"Browser ({browser or 'unknown: UTC'})" if c == BROWSER_CHOICE else "UTC",
            key="time_zone_setting",
            help="Every time on the pages says its zone. Default from ORDERS_DISPLAY_TIME_ZONE (UTC or browser).",
        )
    st.session_state[_CHOICE_KEY] = choice
    return zone()


def zone() -> ZoneInfo:
    """The zone times are shown in (the setting's, without drawing it)."""
    choice = st.session_state.get(_CHOICE_KEY, _default())
    return timefmt.zone_named(browser_zone() if choice == BROWSER_CHOICE else None)


def label() -> str:
    """The display zone's name, for headers: UTC or e.g. Europe/Paris."""
    return timefmt.zone_label(zone())


def header(name: str) -> str:
    """A column or axis title with the zone, e.g. "Started (UTC)"."""
    return f"{name} ({label()})"


def fmt(at: datetime | None, *, millis: bool = False, date: bool = True) -> str:
    """A time as text in the display zone, saying the zone."""
    return timefmt.format_time(at, zone(), millis=millis, date=date)


def column(values: Iterable[datetime | None]) -> pd.Series:
    """Times for a dataframe column, in the display zone (the column header must say it: see header())."""
    series = pd.to_datetime(pd.Series(list(values), dtype="object"), utc=True)
    return series.dt.tz_convert(zone().key)


def datetime_column(name: str, millis: bool = False) -> st.column_config.DatetimeColumn:
    """The column config of a time column, its header naming the zone."""
    return st.column_config.DatetimeColumn(header(name), format="YYYY-MM-DD HH:mm:ss" + (".SSS" if millis else ""))


def axis(since: datetime, until: datetime) -> dict[str, object]:
    """Plotly x-axis settings for a time window in the display zone."""
    return timefmt.time_axis(since, until, zone())


def wall(values: Iterable[datetime | None]) -> list[datetime | None]:
    """Times as the display zone's wall-clock times, for chart axes whose title names the zone."""
    return timefmt.wall_times(values, zone())
