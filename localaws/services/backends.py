"""Reading and trimming moto's state, which other threads change meanwhile."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def iter_backends(backend_dict: Any) -> Iterator[Any]:
    """Every account/region backend of a service (snapshots: other threads may add backends meanwhile)."""
    for account_backends in list(backend_dict.values()):
        yield from list(account_backends.values())


def rewrite_prefix(items: list[Any], length: int, kept: list[Any]) -> None:
    """Replace the first length items by kept in one slice assignment, keeping whatever was appended since."""
    # moto only ever appends to these lists (from other threads); one slice assignment is a single C call
    # under the GIL.
    items[:length] = kept
