"""Waiting for executions reads only what changed, yet finds one that reached the listing after a newer one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from backend.orders import wait_for_executions

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


class Listing:
    """ListExecutions as AWS answers it, newest first, eventually consistent: what `visible` holds is listed."""

    def __init__(self) -> None:
        self.visible: list[dict[str, Any]] = []

    def get_paginator(self, _: str) -> Listing:
        return self

    def paginate(self, statusFilter: str | None = None, **_: Any) -> list[dict[str, Any]]:
        items = sorted(self.visible, key=lambda item: item["startDate"], reverse=True)
        return [{"executions": [i for i in items if statusFilter in (None, i["status"])]}]

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        return next(item for item in self.visible if item["executionArn"] == executionArn)


def execution(name: str, seconds: int, status: str = "SUCCEEDED") -> dict[str, Any]:
    return {"name": name, "executionArn": f"arn:{name}", "startDate": T0 + timedelta(seconds=seconds), "status": status}


def test_an_execution_listed_after_a_newer_one_is_still_found() -> None:
    listing = Listing()
    listing.visible = [execution("newer", 2)]
    polls = 0

    def progress(done: int, total: int) -> None:
        nonlocal polls
        polls += 1
        if polls == 1:  # the older one reaches the listing only after the newer one was read
            listing.visible.append(execution("older", 1))

    found = wait_for_executions(listing, "machine", {"older", "newer"}, T0, 5, progress, poll_seconds=0)

    assert {name: item["status"] for name, item in found.items()} == {"older": "SUCCEEDED", "newer": "SUCCEEDED"}
    assert polls == 2
