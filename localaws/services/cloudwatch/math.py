"""Metric math as alarms use it: + - * /, parentheses, numbers, ids and FILL(x, value), point by point."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable

Series = list[float | None]


class ExpressionError(ValueError):
    """A metric math expression outside the supported subset."""


_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def evaluate_expression(expression: str, series: dict[str, Series], length: int) -> Series:
    """The series an expression of + - * /, parentheses, numbers, ids and FILL(x, value) gives, point by point
    (a point missing in an operand is missing in the result, as is a division by zero)."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse {expression!r}") from exc
    return _points(tree.body, series, length)


def _points(node: ast.AST, series: dict[str, Series], length: int) -> Series:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return [float(node.value)] * length
    if isinstance(node, ast.Name):
        if node.id not in series:
            raise ExpressionError(f"unknown id {node.id!r}")
        return list(series[node.id])
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        return [None if value is None else sign * value for value in _points(node.operand, series, length)]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        combine = _BINARY[type(node.op)]
        left, right = _points(node.left, series, length), _points(node.right, series, length)
        return [_combine(combine, a, b) for a, b in zip(left, right, strict=True)]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "FILL" and not node.keywords:
        if len(node.args) != 2:
            raise ExpressionError("FILL takes a series and a value")
        values, fill = _points(node.args[0], series, length), _number(node.args[1])
        return [fill if value is None else value for value in values]
    raise ExpressionError(f"unsupported metric math: {ast.unparse(node)!r}")


def _number(node: ast.AST) -> float:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_number(node.operand)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return float(node.value)
    raise ExpressionError(f"FILL needs a number, not {ast.unparse(node)!r}")


def _combine(combine: Callable[[float, float], float], a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    try:
        return combine(a, b)
    except ZeroDivisionError:
        return None
