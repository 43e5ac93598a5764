"""The app's pages in the sections and order the menu shows them: the router's list (streamlit_app.py) and the
sidebar's links."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st


@dataclass(frozen=True)
class Entry:
    """One page: its script, its title in the menu, its icon, and whether / opens it."""

    script: str
    title: str
    icon: str
    default: bool = False


# Each page's URL is its file's name (/place is pages/place.py): until st.navigation has run once, Streamlit serves a
# fresh server's sessions from its pages/ folder discovery, which knows pages by file name only, so a deep link finds
# the same page at the same URL either way. That discovery's own menu is hidden (client.showSidebarNavigation = false
# in .streamlit/config.toml, which hides st.navigation's too): render() draws this one instead.
SECTIONS: dict[str, tuple[Entry, ...]] = {
    "Operations": (
        Entry("pages/overview.py", "Overview", ":material/dashboard:", default=True),
        Entry("pages/queues.py", "Queues", ":material/inbox:"),
        Entry("pages/executions.py", "Executions", ":material/account_tree:"),
        Entry("pages/metrics.py", "Metrics", ":material/monitoring:"),
        Entry("pages/functions.py", "Functions", ":material/function:"),
    ),
    "Orders": (
        Entry("pages/place.py", "Place order", ":material/add_shopping_cart:"),
        Entry("pages/orders.py", "Recent orders", ":material/list_alt:"),
        Entry("pages/order.py", "Order", ":material/receipt_long:"),
        Entry("pages/notifications.py", "Notifications", ":material/mail:"),
    ),
}


def streamlit_pages() -> dict[str, list[st.Page]]:
    """The pages for st.navigation, by section, each at its file's name (see SECTIONS), the default one at /."""
    pages = {
        section: [
            st.Page(entry.script, title=entry.title, icon=entry.icon, default=entry.default, url_path=_path(entry))
            for entry in entries
        ]
        for section, entries in SECTIONS.items()
    }
    # The folder discovery serves the default page at its file's name too (/overview): that URL keeps working after.
    # Registered last, so that links to the script name the default page (/).
    default = next(entry for entries in SECTIONS.values() for entry in entries if entry.default)
    last = list(SECTIONS)[-1]
    pages[last].append(st.Page(default.script, title=default.title, icon=default.icon, visibility="hidden"))
    return pages


def _path(entry: Entry) -> str | None:
    # The default page's own URL is /; its inferred url_path (its file's name) goes to the hidden page that serves
    # /overview, as two pages may not share one.
    return f"{Path(entry.script).stem}-home" if entry.default else None


def render() -> None:
    """The menu: every page's link under its section's name."""
    for section, entries in SECTIONS.items():
        st.caption(section)
        for entry in entries:
            st.page_link(entry.script, label=entry.title, icon=entry.icon)
