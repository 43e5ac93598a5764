"""A parsed Logs Insights query run over log events (as localaws/services/logs/discovery.py describes them): its
commands in order, its expressions, functions and aggregations, and rows as GetQueryResults answers them."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from localaws.services.logs.discovery import Instant, number, write
from localaws.services.logs.syntax import (
    Binary,
    Call,
    Expr,
    Field,
    Fields,
    Filter,
    Limit,
    Literal,
    Match,
    Parse,
    Query,
    Sort,
    Star,
    Stats,
    Unary,
    aggregate_calls,
)

DEFAULT_LIMIT = 10_000  # what AWS returns when neither the query nor StartQuery limits it
DEFAULT_FIELDS = ("@timestamp", "@message")  # what AWS shows of a query without fields or stats

Row = dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    """A query's answer: its rows of {field, value}, and how many events matched its filters."""

    rows: list[list[dict[str, str]]]
    matched: int


def run(query: Query, events: Iterable[Row], limit: int | None = None) -> Outcome:
    """Run query over events (each a dict of its fields, @ptr included); limit is StartQuery's, which a limit
    command overrides."""
    rows = sorted(events, key=lambda row: row["@timestamp"], reverse=True)  # newest first, as AWS answers
    shown: list[str] = []
    aggregated = False
    matched: int | None = None
    for command in query.commands:
        if isinstance(command, Filter):
            rows = [row for row in rows if truthy(evaluate(command.condition, row))]
        elif isinstance(command, Fields):
            for row in rows:
                for item in command.items:
                    row[item.name] = evaluate(item.expr, row)
            shown += [item.name for item in command.items if item.name not in shown]
        elif isinstance(command, Parse):
            for row in rows:
                _parse(command, row)
        elif isinstance(command, Stats):
            matched = len(rows) if matched is None else matched
            rows, shown, aggregated = _stats(command, rows), [item.name for item in (*command.by, *command.items)], True
        elif isinstance(command, Sort):
            rows = _sort(rows, command)
        elif isinstance(command, Limit):
            matched = len(rows) if matched is None else matched
            rows = rows[: command.count]
    matched = len(rows) if matched is None else matched
    if query.limit is None:
        rows = rows[: limit or DEFAULT_LIMIT]
    names = shown or list(DEFAULT_FIELDS)
    answer = []
    for row in rows:
        cells = [{"field": name, "value": text} for name in names if (text := write(row.get(name))) is not None]
        if not aggregated and "@ptr" in row and "@ptr" not in names:
            cells.append({"field": "@ptr", "value": row["@ptr"]})
        answer.append(cells)
    return Outcome(answer, matched)


def truthy(value: Any) -> bool:
    """Whether a filter keeps a record for value: true, a number other than 0, or other non-empty text."""
    if value is None:
        return False
    amount = number(value)
    return amount != 0 if amount is not None else bool(value)


def evaluate(expr: Expr, row: Row, aggregates: dict[int, Any] | None = None) -> Any:
    """expr's value for one record; aggregates holds the value of each aggregation call (by id) within stats."""
    if not isinstance(expr, Field | Literal) and expr.text in row:
        return row[expr.text]  # a result stats or fields made, named by its text ("count(*)", "bin(5m)")
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Field):
        return row.get(expr.name)
    if isinstance(expr, Call):
        if aggregates is not None and id(expr) in aggregates:
            return aggregates[id(expr)]
        return _call(expr, row, aggregates)
    if isinstance(expr, Unary):
        operand = evaluate(expr.operand, row, aggregates)
        if expr.op == "not":
            return not truthy(operand)
        amount = number(operand)
        return None if amount is None else -amount
    if isinstance(expr, Binary):
        return _binary(expr, row, aggregates)
    if isinstance(expr, Match):
        subject = write(evaluate(expr.subject, row, aggregates))
        if subject is None:
            return False
        found = expr.pattern in subject if isinstance(expr.pattern, str) else bool(expr.pattern.search(subject))
        return found != expr.negated
    raise TypeError(f"cannot evaluate {expr.text}")  # the parser lets no other node through


def _binary(expr: Binary, row: Row, aggregates: dict[int, Any] | None) -> Any:
    if expr.op == "and":
        return truthy(evaluate(expr.left, row, aggregates)) and truthy(evaluate(expr.right, row, aggregates))
    if expr.op == "or":
        return truthy(evaluate(expr.left, row, aggregates)) or truthy(evaluate(expr.right, row, aggregates))
    left, right = evaluate(expr.left, row, aggregates), evaluate(expr.right, row, aggregates)
    if expr.op in _ARITHMETIC:
        a, b = number(left), number(right)
        if a is None or b is None:
            return None
        try:
            result = _ARITHMETIC[expr.op](a, b)
        except (ZeroDivisionError, OverflowError, ValueError):
            return None
        return result if isinstance(result, int) or math.isfinite(result) else None
    return compare(expr.op, left, right)


_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: int(a) + int(b) if _ints(a, b) else a + b,
    "-": lambda a, b: int(a) - int(b) if _ints(a, b) else a - b,
    "*": lambda a, b: int(a) * int(b) if _ints(a, b) else a * b,
    "/": lambda a, b: a / b,
    "%": lambda a, b: a % b,
    "^": lambda a, b: float(a) ** float(b),
}


def _ints(a: Any, b: Any) -> bool:
    return isinstance(a, int) and isinstance(b, int)


def compare(op: str, left: Any, right: Any) -> bool:
    """A comparison: numbers as numbers (text that is only a number counts), anything else as text; a missing
    value compares as nothing."""
    if left is None or right is None:
        return False
    a, b = number(left), number(right)
    if a is None or b is None:
        a, b = write(left), write(right)
    if op == "=":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b  # type: ignore[operator]
    if op == "<=":
        return a <= b  # type: ignore[operator]
    if op == ">":
        return a > b  # type: ignore[operator]
    return a >= b  # type: ignore[operator]


def _call(expr: Call, row: Row, aggregates: dict[int, Any] | None) -> Any:
    if expr.name == "bin":
        stamp = row.get("@timestamp")
        period = expr.args[0].ms  # type: ignore[attr-defined]
        return None if stamp is None else Instant(int(stamp) - int(stamp) % period)
    args = [evaluate(arg, row, aggregates) for arg in expr.args]
    if expr.name == "ispresent":
        return args[0] is not None
    text, part = write(args[0]), write(args[1])  # strcontains
    return int(text is not None and part is not None and part in text)


def aggregate(call: Call, rows: list[Row]) -> Any:
    """One aggregation over a group's records."""
    if call.name == "count" and (not call.args or isinstance(call.args[0], Star)):
        return len(rows)
    values = [value for row in rows if (value := evaluate(call.args[0], row)) is not None]
    if call.name == "count":
        return len(values)
    if call.name == "count_distinct":
        return len({write(value) for value in values})
    if call.name in ("min", "max"):
        if not values:
            return None
        pick = min if call.name == "min" else max
        if all(number(value) is not None for value in values):
            return pick(values, key=number)  # the value itself: min(@timestamp) stays a time
        return pick(values, key=lambda value: write(value) or "")
    amounts = [amount for amount in map(number, values) if amount is not None]
    if not amounts:
        return None
    if call.name == "sum":
        return sum(amounts)
    if call.name == "avg":
        return sum(amounts) / len(amounts)
    rank = float(call.args[1].value) / 100  # type: ignore[attr-defined]
    ordered = sorted(amounts)
    return ordered[max(math.ceil(rank * len(ordered)), 1) - 1]  # pct: the nearest rank, a value that occurred


def _stats(command: Stats, rows: list[Row]) -> list[Row]:
    groups: dict[tuple[str | None, ...], tuple[Row, list[Row]]] = {}
    for row in rows:
        keys = {item.name: evaluate(item.expr, row) for item in command.by}
        group = groups.setdefault(tuple(write(value) for value in keys.values()), (keys, []))
        group[1].append(row)
    results = []
    for keys, members in groups.values():
        result = dict(keys)
        for item in command.items:
            values = {id(call): aggregate(call, members) for call in aggregate_calls(item.expr)}
            result[item.name] = evaluate(item.expr, result, values)
        results.append(result)
    return results


def sort_key(value: Any) -> tuple[Any, ...]:
    """Numbers by value before text by character."""
    amount = number(value)
    return (0, amount, "") if amount is not None else (1, 0, write(value) or "")


def _sort(rows: list[Row], command: Sort) -> list[Row]:
    for expr, descending in reversed(command.keys):
        keyed = [(row, evaluate(expr, row)) for row in rows]
        present = [pair for pair in keyed if pair[1] is not None]
        present.sort(key=lambda pair: sort_key(pair[1]), reverse=descending)
        rows = [row for row, _ in present] + [row for row, value in keyed if value is None]  # missing values last
    return rows


def _parse(command: Parse, row: Row) -> None:
    value = write(evaluate(command.source, row))
    found = command.pattern.search(value) if value is not None else None
    if found is None:
        return
    captured = found.groups() if command.pattern.groupindex.keys() != set(command.names) else None
    for index, name in enumerate(command.names):
        row[name] = captured[index] if captured is not None else found.group(name)
