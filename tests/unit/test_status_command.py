"""`python -m backend status`: each answer without an execution in its own words, times with their zone, exit 3."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backend import lookup
from backend.cli import main
from backend.cli.exits import EXIT_INPUT, EXIT_NOT_FOUND

ORDER_ID = "ord_01kb2y0m6bq1xbx2kgkpyx0vva"
PLACED = datetime(2026, 11, 27, 9, 30, 5, tzinfo=UTC)
LATER = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
ANSWERS = [
    (
        lookup.Queued(order_id=ORDER_ID, placed_at=PLACED, ahead=2),
        f"{ORDER_ID} is queued since 2026-11-27 09:30:05 UTC, 2 orders ahead of it (placed earlier, not started yet).",
    ),
    (lookup.Queued(order_id=ORDER_ID, placed_at=PLACED, ahead=0), "no order ahead of it"),
    (
        lookup.Purged(order_id=ORDER_ID, placed_at=PLACED, purged_at=LATER),
        "purged from the orders queue at 2026-11-27 10:00:00 UTC before its workflow started",
    ),
    (
        lookup.LostInReset(order_id=ORDER_ID, placed_at=PLACED, reset_at=LATER),
        f"{ORDER_ID} was placed at 2026-11-27 09:30:05 UTC, before the sandbox was reset at 2026-11-27 10:00:00 UTC",
    ),
    (
        lookup.Expired(
            order_id=ORDER_ID, placed_at=PLACED, kept_since=LATER, rule="the local AWS keeps execution records for 24 h"
        ),
        f"No record of {ORDER_ID} any more: it was placed at 2026-11-27 09:30:05 UTC, and the local AWS keeps "
        "execution records for 24 h (none started before 2026-11-27 10:00:00 UTC).",
    ),
    (lookup.Unknown(order_id=ORDER_ID, placed_at=PLACED), f"Unknown order id {ORDER_ID}: it has no workflow execution"),
]


@pytest.mark.parametrize(("answer", "expected"), ANSWERS, ids=lambda value: getattr(value, "kind", None))
def test_an_order_without_an_execution_exits_3_saying_what_is_known(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], answer: lookup.NoExecution, expected: str
) -> None:
    monkeypatch.setattr(lookup, "locate", lambda order_id: answer)
    assert main(["status", ORDER_ID]) == EXIT_NOT_FOUND
    out = capsys.readouterr().out
    assert expected in out
    assert main(["status", ORDER_ID, "--json"]) == EXIT_NOT_FOUND
    assert f'"kind": "{answer.kind}"' in capsys.readouterr().out


def test_the_answers_are_distinct_types_not_strings() -> None:
    kinds = [answer.kind for answer, _ in ANSWERS]
    assert sorted(set(kinds)) == ["expired", "lost", "purged", "queued", "unknown"]
    assert all(isinstance(answer, lookup.NoExecution) for answer, _ in ANSWERS)


def test_a_malformed_id_is_bad_input_naming_the_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "ord_123"]) == EXIT_INPUT  # refused before any AWS call
    err = capsys.readouterr().err
    assert "Not an order id: 'ord_123'. An order id must be 'ord_' and a 26-character lower-case ULID." in err
