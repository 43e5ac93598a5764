"""The syntax tree of a Logs Insights query: expressions, commands, and MalformedQuery for what does not compile."""

from __future__ import annotations

import re
from dataclasses import dataclass

# The functions and aggregations of AWS's Lambda operator guide queries: name -> (fewest, most arguments).
FUNCTIONS = {"bin": (1, 1), "ispresent": (1, 1), "strcontains": (2, 2)}
AGGREGATES = {
    "avg": (1, 1), "count": (0, 1), "count_distinct": (1, 1), "max": (1, 1), "min": (1, 1), "pct": (2, 2),
    "percentile": (2, 2), "sum": (1, 1),
}  # fmt: skip


class MalformedQuery(ValueError):
    """A query that does not compile: the message AWS's MalformedQueryException carries, and where it is."""

    def __init__(self, message: str, start: int = 0, end: int = 0) -> None:
        super().__init__(message)
        self.message, self.start, self.end = message, start, end


# Expressions. Each keeps its source text: AWS names an unaliased result by it ("count(*)", "bin(5m)").


@dataclass(frozen=True, eq=False)
class Expr:
    """An expression and the part of the query it was read from."""

    text: str
    start: int
    end: int


@dataclass(frozen=True, eq=False)
class Literal(Expr):
    """A number or string."""

    value: object


@dataclass(frozen=True, eq=False)
class Field(Expr):
    """A field of the record (a log field, a discovered one, or an alias made earlier)."""

    name: str


@dataclass(frozen=True, eq=False)
class Period(Expr):
    """A time period (bin's argument), in milliseconds."""

    ms: int


@dataclass(frozen=True, eq=False)
class Star(Expr):
    """The * of count(*)."""


@dataclass(frozen=True, eq=False)
class Call(Expr):
    """A function or aggregation call; name in lower case."""

    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, eq=False)
class Unary(Expr):
    """Negation (-) or not."""

    op: str
    operand: Expr


@dataclass(frozen=True, eq=False)
class Binary(Expr):
    """Arithmetic, comparison, and, or."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, eq=False)
class Match(Expr):
    """like / =~: a substring (str) or a regular expression."""

    subject: Expr
    pattern: str | re.Pattern[str]
    negated: bool


@dataclass(frozen=True)
class Item:
    """An expression and the name of its result (its alias, or its text)."""

    expr: Expr
    name: str


# Commands.


@dataclass(frozen=True)
class Fields:
    """fields: computes items and adds them to what is shown."""

    items: tuple[Item, ...]


@dataclass(frozen=True)
class Filter:
    """filter: keeps the records for which condition holds."""

    condition: Expr


@dataclass(frozen=True)
class Parse:
    """parse: pattern's named groups become fields (a glob's * in order of names)."""

    source: Expr
    pattern: re.Pattern[str]
    names: tuple[str, ...]


@dataclass(frozen=True)
class Stats:
    """stats: items over groups of by."""

    items: tuple[Item, ...]
    by: tuple[Item, ...]


@dataclass(frozen=True)
class Sort:
    """sort: keys, each (expression, descending)."""

    keys: tuple[tuple[Expr, bool], ...]


@dataclass(frozen=True)
class Limit:
    """limit: at most count records."""

    count: int


Command = Fields | Filter | Parse | Stats | Sort | Limit


@dataclass(frozen=True)
class Query:
    """A parsed query: its commands in order."""

    text: str
    commands: tuple[Command, ...]

    @property
    def limit(self) -> int | None:
        """The limit command's count, if the query has one."""
        return next((c.count for c in self.commands if isinstance(c, Limit)), None)


def with_text(expr: Expr, text: str, start: int, end: int) -> Expr:
    """The same expression, named by its parenthesised text."""
    values = {name: getattr(expr, name) for name in expr.__dataclass_fields__}
    return type(expr)(**(values | {"text": text, "start": start, "end": end}))


def children(expr: Expr) -> tuple[Expr, ...]:
    """The expressions directly within expr."""
    if isinstance(expr, Call):
        return expr.args
    if isinstance(expr, Unary):
        return (expr.operand,)
    if isinstance(expr, Binary):
        return (expr.left, expr.right)
    if isinstance(expr, Match):
        return (expr.subject,)
    return ()


def aggregate_calls(expr: Expr) -> list[Call]:
    """The outermost aggregation calls within expr, in order."""
    if isinstance(expr, Call) and expr.name in AGGREGATES:
        return [expr]
    return [call for child in children(expr) for call in aggregate_calls(child)]


def fields_outside_aggregates(expr: Expr) -> list[Field]:
    """The fields expr reads other than through an aggregation."""
    if isinstance(expr, Field):
        return [expr]
    if isinstance(expr, Call) and expr.name in AGGREGATES:
        return []
    return [field for child in children(expr) for field in fields_outside_aggregates(child)]
