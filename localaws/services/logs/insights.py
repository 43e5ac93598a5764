"""The CloudWatch Logs Insights query language, the subset the local AWS answers: its tokens and parser
(parse_query), into the syntax tree of localaws/services/logs/syntax.py."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from localaws.services.logs.syntax import (
    AGGREGATES,
    FUNCTIONS,
    Binary,
    Call,
    Command,
    Expr,
    Field,
    Fields,
    Filter,
    Item,
    Limit,
    Literal,
    MalformedQuery,
    Match,
    Parse,
    Period,
    Query,
    Sort,
    Star,
    Stats,
    Unary,
    aggregate_calls,
    fields_outside_aggregates,
    with_text,
)

__all__ = ["MalformedQuery", "Query", "compile_regex", "glob_regex", "parse_query", "tokenize"]

COMMANDS = ("fields", "filter", "limit", "parse", "sort", "stats")
_RESERVED = {"and", "or", "not", "like", "as", "by", "asc", "desc"}
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class Token:
    """One lexical unit: kind is name, field (backticked), number, period, string, regex, op, pipe or end."""

    kind: str
    text: str
    start: int
    end: int


# Time units AWS accepts in bin(), in milliseconds (calendar months and years are not served).
_UNITS = {
    "ms": 1, "msec": 1, "millisecond": 1, "s": 1000, "sec": 1000, "second": 1000, "m": 60_000, "min": 60_000,
    "minute": 60_000, "h": 3_600_000, "hr": 3_600_000, "hour": 3_600_000, "d": 86_400_000, "day": 86_400_000,
    "w": 604_800_000, "week": 604_800_000,
}  # fmt: skip


def parse_query(text: str) -> Query:
    """Parse a query string; MalformedQuery names what does not compile and where."""
    return _Parser(text, list(tokenize(text))).query()


_SPACE = re.compile(r"(?:\s+|#[^\n]*)+")
_NAME = re.compile(r"[@A-Za-z_][@A-Za-z0-9_.]*")
_NUMBER = re.compile(r"\d+(?:\.\d+)?([A-Za-z]+)?")
_OPERATORS = ("==", "!=", "<=", ">=", "=~", "=", "<", ">", "+", "-", "*", "/", "%", "^", "(", ")", ",")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}
_OPERAND_END = {"name", "field", "number", "period", "string", "regex"}


def tokenize(text: str) -> Iterator[Token]:
    """The query's tokens, then an end token; a / starts a regular expression where no operand precedes it."""
    position, previous, before = 0, Token("end", "", 0, 0), Token("end", "", 0, 0)
    while True:
        space = _SPACE.match(text, position)
        if space:
            position = space.end()
        if position >= len(text):
            yield Token("end", "", len(text), len(text))
            return
        token = _next_token(text, position, previous, before)
        yield token
        position, previous, before = token.end, token, previous


def _next_token(text: str, position: int, previous: Token, before: Token) -> Token:
    char = text[position]
    if char == "|":
        return Token("pipe", "|", position, position + 1)
    if char in "\"'":
        value, end = _quoted(text, position, char)
        return Token("string", value, position, end)
    if char == "`":
        end = text.find("`", position + 1)
        if end < 0:
            raise MalformedQuery("unterminated field name: a ` is not closed", position, len(text))
        return Token("field", text[position + 1 : end], position, end + 1)
    if char == "/" and _regex_may_start(previous, before):
        return _regex(text, position)
    number = _NUMBER.match(text, position)
    if number:
        return Token("period" if number.group(1) else "number", number.group(0), position, number.end())
    name = _NAME.match(text, position)
    if name:
        return Token("name", name.group(0), position, name.end())
    for op in _OPERATORS:
        if text.startswith(op, position):
            return Token("op", op, position, position + len(op))
    raise _unexpected(text, position, position + 1)


def _regex_may_start(previous: Token, before: Token) -> bool:
    """A / is division after an operand, except the field of `parse field /regex/`."""
    if previous.kind == "name" and before.kind == "name" and before.text.lower() == "parse":
        return True
    if previous.kind == "name" and previous.text.lower() in (_RESERVED | {"parse"}):
        return True
    return not (previous.kind in _OPERAND_END or previous.text == ")")


def _quoted(text: str, start: int, quote: str) -> tuple[str, int]:
    chars, position = [], start + 1
    while position < len(text):
        char = text[position]
        if char == "\\" and position + 1 < len(text):
            following = text[position + 1]
            chars.append(_ESCAPES.get(following, "\\" + following))
            position += 2
            continue
        if char == quote:
            return "".join(chars), position + 1
        chars.append(char)
        position += 1
    raise MalformedQuery("unterminated string: a quote is not closed", start, len(text))


def _regex(text: str, start: int) -> Token:
    chars, position = [], start + 1
    while position < len(text):
        char = text[position]
        if char == "\\" and position + 1 < len(text):
            following = text[position + 1]
            chars.append("/" if following == "/" else "\\" + following)
            position += 2
            continue
        if char == "/":
            return Token("regex", "".join(chars), start, position + 1)
        chars.append(char)
        position += 1
    raise MalformedQuery("unterminated regular expression: a / is not closed", start, len(text))


def _unexpected(text: str, start: int, end: int) -> MalformedQuery:
    """AWS's wording for a symbol the grammar does not allow where it stands."""
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1)
    symbol = text[start:end] or "<EOF>"
    return MalformedQuery(f"unexpected symbol found {symbol} at line {line} and position {column}", start, end)


_NAMED_GROUP = re.compile(r"\(\?<(?![=!])")
_INLINE_FLAGS = re.compile(r"\(\?([aiLmsux]+)\)")


def compile_regex(source: str, start: int, end: int) -> re.Pattern[str]:
    """A Logs Insights (Java) regular expression in Python's dialect: (?<name>...) groups, inline flags anywhere."""
    flags = "".join(_INLINE_FLAGS.findall(source))
    body = _NAMED_GROUP.sub("(?P<", _INLINE_FLAGS.sub("", source))
    try:
        return re.compile((f"(?{''.join(sorted(set(flags)))})" if flags else "") + body)
    except re.error as error:
        raise MalformedQuery(f"invalid regular expression /{source}/: {error}", start, end) from error


def glob_regex(glob: str) -> re.Pattern[str]:
    """A parse glob as a regular expression: each * captures, the last one to the end of the field."""
    parts = glob.split("*")
    groups = [f"(?P<g{i}>.*?)" if i < len(parts) - 2 or parts[-1] else f"(?P<g{i}>.*)" for i in range(len(parts) - 1)]
    pairs = zip(groups, parts[1:], strict=True)
    pattern = re.escape(parts[0]) + "".join(group + re.escape(part) for group, part in pairs)
    return re.compile(pattern, re.S)


class _Parser:
    """Recursive descent over the tokens; each command checks what AWS would refuse."""

    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text, self.tokens, self.index = text, tokens, 0
        self.defined: set[str] = set()  # ephemeral fields made so far (AWS refuses to define one twice)
        self.columns: set[str] | None = None  # after stats: the names of its results

    # Token helpers.

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        self.index += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "name" and token.text.lower() in words

    def at_op(self, *ops: str) -> bool:
        token = self.peek()
        return token.kind == "op" and token.text in ops

    def expect_op(self, op: str) -> Token:
        if not self.at_op(op):
            raise self.unexpected()
        return self.advance()

    def unexpected(self, token: Token | None = None) -> MalformedQuery:
        token = token or self.peek()
        return _unexpected(self.text, token.start, token.end)

    def source(self, start: int, end: int) -> str:
        return self.text[start:end].strip()

    # Commands.

    def query(self) -> Query:
        commands: list[Command] = []
        if self.peek().kind != "end":
            commands.append(self.command())
            while self.peek().kind == "pipe":
                self.advance()
                commands.append(self.command())
            if self.peek().kind != "end":
                raise self.unexpected()
        return Query(self.text, tuple(commands))

    def command(self) -> Command:
        token = self.advance()
        word = token.text.lower() if token.kind == "name" else ""
        if word not in COMMANDS:
            expected = ", ".join(f"K_{name.upper()}" for name in COMMANDS)
            raise MalformedQuery(f"mismatched input '{token.text}' expecting {{{expected}}}", token.start, token.end)
        command = getattr(self, f"command_{word}")()
        if self.peek().kind not in ("pipe", "end"):
            raise self.unexpected()
        return command

    def command_fields(self) -> Fields:
        items = self.items(define=True)
        for item in items:
            self.check_no_aggregate(item.expr)
        return Fields(items)

    def command_filter(self) -> Filter:
        condition = self.expression()
        self.check_no_aggregate(condition)
        return Filter(condition)

    def command_parse(self) -> Parse:
        source: Expr = Field("@message", 0, 0, "@message")
        if self.peek().kind in ("name", "field") and not self.at_keyword(*_RESERVED):
            token = self.advance()
            source = Field(token.text, token.start, token.end, token.text)
        token = self.advance()
        if token.kind == "regex":
            pattern = compile_regex(token.text, token.start, token.end)
            names = tuple(pattern.groupindex)
            if not names:
                raise MalformedQuery("parse with a regular expression needs named groups: (?<name>...)", token.start,
                                     token.end)  # fmt: skip
        elif token.kind == "string":
            if not self.at_keyword("as"):
                raise self.unexpected()
            self.advance()
            names = tuple(self.alias() for _ in self.comma_separated())
            pattern = glob_regex(token.text)
            if pattern.groups != len(names):
                raise MalformedQuery(
                    f"the pattern has {pattern.groups} wildcards (*) but {len(names)} fields follow as",
                    token.start, self.peek().start,
                )  # fmt: skip
        else:
            raise self.unexpected(token)
        for name in names:
            self.define(name, token)
        return Parse(source, pattern, names)

    def command_stats(self) -> Stats:
        start = self.peek()
        items = self.items(define=False)
        by: tuple[Item, ...] = ()
        if self.at_keyword("by"):
            self.advance()
            by = self.items(define=False)
        known = {item.name for item in by}
        for item in by:
            self.check_no_aggregate(item.expr)
        for item in items:
            aggregates = list(aggregate_calls(item.expr))
            stray = [f for f in fields_outside_aggregates(item.expr) if f.name not in known]
            if stray or not (aggregates or fields_outside_aggregates(item.expr)):
                where = stray[0] if stray else item.expr
                raise MalformedQuery(
                    f"{where.text} in stats must be an aggregation such as count(), sum() or avg(), or a name it made",
                    where.start, where.end,
                )  # fmt: skip
            for call in aggregates:
                nested = [inner for arg in call.args for inner in aggregate_calls(arg)]
                if nested:
                    raise MalformedQuery(f"aggregation {nested[0].text} inside {call.name}()", nested[0].start,
                                         nested[0].end)  # fmt: skip
            known.add(item.name)
        if not items:
            raise self.unexpected(start)
        self.columns, self.defined = {item.name for item in (*by, *items)}, set()
        return Stats(items, by)

    def command_sort(self) -> Sort:
        if self.at_keyword("by"):
            self.advance()
        keys = []
        for _ in self.comma_separated():
            expr = self.expression()
            self.check_no_aggregate(expr)
            descending = False
            if self.at_keyword("asc", "desc"):
                descending = self.advance().text.lower() == "desc"
            keys.append((expr, descending))
        return Sort(tuple(keys))

    def command_limit(self) -> Limit:
        token = self.advance()
        if token.kind != "number" or "." in token.text:
            raise self.unexpected(token)
        count = int(token.text)
        if not 1 <= count <= MAX_LIMIT:
            raise MalformedQuery(f"limit must be between 1 and {MAX_LIMIT}, got {count}", token.start, token.end)
        return Limit(count)

    # Parts of commands.

    def comma_separated(self) -> Iterator[None]:
        """Yield once per element of a comma-separated list (the caller reads each element)."""
        yield
        while self.at_op(","):
            self.advance()
            yield

    def items(self, define: bool) -> tuple[Item, ...]:
        items = []
        for _ in self.comma_separated():
            expr = self.expression()
            name = expr.text
            if self.at_keyword("as"):
                token = self.advance()
                name = self.alias()
                if define:
                    self.define(name, token)
            items.append(Item(expr, name))
        return tuple(items)

    def alias(self) -> str:
        token = self.advance()
        if token.kind not in ("name", "field") or (token.kind == "name" and token.text.lower() in _RESERVED):
            raise self.unexpected(token)
        return token.text

    def define(self, name: str, token: Token) -> None:
        if name in self.defined:
            raise MalformedQuery(f"Ephemeral field is already defined: {name}", token.start, token.end)
        self.defined.add(name)

    def check_no_aggregate(self, expr: Expr) -> None:
        """Aggregations belong in stats; after one, a call spelled as one of its results names that result."""
        for call in aggregate_calls(expr):
            if self.columns is None or call.text not in self.columns:
                raise MalformedQuery(f"aggregation {call.text} can only be used in stats", call.start, call.end)

    # Expressions, lowest precedence first.

    def expression(self) -> Expr:
        return self.binary_chain(self.conjunction, "or")

    def conjunction(self) -> Expr:
        return self.binary_chain(self.negation, "and")

    def binary_chain(self, operand: Callable[[], Expr], word: str) -> Expr:
        left = operand()
        while self.at_keyword(word):
            self.advance()
            right = operand()
            left = Binary(self.source(left.start, right.end), left.start, right.end, word, left, right)
        return left

    def negation(self) -> Expr:
        if self.at_keyword("not"):
            start = self.advance().start
            operand = self.negation()
            return Unary(self.source(start, operand.end), start, operand.end, "not", operand)
        return self.comparison()

    def comparison(self) -> Expr:
        left = self.additive()
        if self.at_op("=", "==", "!=", "<", "<=", ">", ">="):
            op = self.advance().text.replace("==", "=")
            right = self.additive()
            return Binary(self.source(left.start, right.end), left.start, right.end, op, left, right)
        negated = self.at_keyword("not") and self.peek(1).kind == "name" and self.peek(1).text.lower() == "like"
        if negated:
            self.advance()
        if self.at_keyword("like") or (self.at_op("=~") and not negated):
            self.advance()
            token = self.advance()
            if token.kind == "regex":
                pattern: str | re.Pattern[str] = compile_regex(token.text, token.start, token.end)
            elif token.kind == "string":
                pattern = token.text
            else:
                raise self.unexpected(token)
            return Match(self.source(left.start, token.end), left.start, token.end, left, pattern, negated)
        if negated:
            raise self.unexpected()
        return left

    def additive(self) -> Expr:
        return self.arithmetic(self.multiplicative, ("+", "-"))

    def multiplicative(self) -> Expr:
        return self.arithmetic(self.power, ("*", "/", "%"))

    def arithmetic(self, operand: Callable[[], Expr], ops: tuple[str, ...]) -> Expr:
        left = operand()
        while self.at_op(*ops):
            op = self.advance().text
            right = operand()
            left = Binary(self.source(left.start, right.end), left.start, right.end, op, left, right)
        return left

    def power(self) -> Expr:
        base = self.unary()
        if self.at_op("^"):
            self.advance()
            exponent = self.power()
            return Binary(self.source(base.start, exponent.end), base.start, exponent.end, "^", base, exponent)
        return base

    def unary(self) -> Expr:
        if self.at_op("-"):
            start = self.advance().start
            operand = self.unary()
            if isinstance(operand, Literal) and isinstance(operand.value, int | float):
                return Literal(self.source(start, operand.end), start, operand.end, -operand.value)
            return Unary(self.source(start, operand.end), start, operand.end, "-", operand)
        return self.primary()

    def primary(self) -> Expr:
        token = self.advance()
        if token.kind == "number":
            value = float(token.text) if "." in token.text else int(token.text)
            return Literal(token.text, token.start, token.end, value)
        if token.kind == "string":
            return Literal(self.text[token.start : token.end], token.start, token.end, token.text)
        if token.kind == "field":
            return Field(token.text, token.start, token.end, token.text)
        if token.kind == "op" and token.text == "(":
            inner = self.expression()
            end = self.expect_op(")").end
            return with_text(inner, self.source(token.start, end), token.start, end)
        if token.kind == "name" and self.at_op("("):
            return self.call(token)
        if token.kind == "name" and token.text.lower() not in _RESERVED:
            return Field(token.text, token.start, token.end, token.text)
        raise self.unexpected(token)

    def call(self, name: Token) -> Call:
        function = name.text.lower()
        arity = FUNCTIONS.get(function) or AGGREGATES.get(function)
        if arity is None:
            raise MalformedQuery(f"unknown function: {name.text}", name.start, name.end)
        self.expect_op("(")
        args: list[Expr] = []
        if function == "count" and self.at_op("*") and self.peek(1).text == ")":
            token = self.advance()
            args.append(Star("*", token.start, token.end))
        elif not self.at_op(")"):
            for _ in self.comma_separated():
                args.append(self.period() if function == "bin" else self.expression())
        end = self.expect_op(")").end
        fewest, most = arity
        if len(args) < fewest or (most is not None and len(args) > most):
            wanted = f"{fewest}" if fewest == most else f"{fewest} or more" if most is None else f"{fewest} to {most}"
            raise MalformedQuery(f"{function}() takes {wanted} arguments, got {len(args)}", name.start, end)
        if function in ("pct", "percentile") and not (
            isinstance(args[1], Literal) and isinstance(args[1].value, int | float) and 0 <= args[1].value <= 100
        ):
            raise MalformedQuery(f"{function}()'s second argument must be a number from 0 to 100", args[1].start,
                                 args[1].end)  # fmt: skip
        return Call(self.source(name.start, end), name.start, end, function, tuple(args))

    def period(self) -> Period:
        token = self.advance()
        if token.kind != "period":
            raise MalformedQuery(f"expected a time period such as 5m or 1h, found {token.text or '<EOF>'}",
                                 token.start, token.end)  # fmt: skip
        amount, unit = re.fullmatch(r"(\d+(?:\.\d+)?)([A-Za-z]+)", token.text).groups()  # type: ignore[union-attr]
        unit = unit.lower()
        scale = _UNITS.get(unit, _UNITS.get(unit[:-1]) if len(unit) > 2 and unit.endswith("s") else None)
        if scale is None or float(amount) <= 0:
            raise MalformedQuery(f"invalid time period: {token.text}", token.start, token.end)
        return Period(token.text, token.start, token.end, round(float(amount) * scale))
