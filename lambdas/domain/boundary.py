"""Untrusted input: bounded before it is parsed, then validated strictly, as JSON, by the shared models."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import pydantic_core
from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

M = TypeVar("M", bound=BaseModel)

MAX_DEPTH = 8  # an orders file (list > order > lines > line) is 4 deep; a workflow event 4 or 5
MAX_ORDER_BYTES = 64 * 1024  # one order; a full one of 50 lines is under 8 KiB
MAX_EVENT_BYTES = 256 * 1024  # Step Functions' payload limit
MAX_FILE_BYTES = 8 * 1024 * 1024  # an orders file; 10,000 orders take about 2 MiB


def _invalid(field: str | None, kind: str, message: str, context: dict[str, Any] | None = None) -> ValidationError:
    # The input is never echoed back: it may be megabytes, or text meant to mislead whoever reads the error.
    loc = (field,) if field else ()
    error = InitErrorDetails(type=PydanticCustomError(kind, message, context), loc=loc, input=None)
    return ValidationError.from_exception_data("input", [error])


def _depth_exceeds(data: Any, max_depth: int) -> bool:
    """Whether containers nest deeper than max_depth, found without recursion (a cycle counts as too deep)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list | tuple):
            if depth > max_depth:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return False


def _too_deep(field: str | None, max_depth: int) -> ValidationError:
    return _invalid(field, "too_deep", "must not nest more than {limit} levels deep", {"limit": max_depth})


def _utf8_size(data: str | bytes, max_bytes: int) -> int:
    # A str has no more characters than UTF-8 bytes: a long one is refused before it is encoded.
    if isinstance(data, bytes) or len(data) > max_bytes:
        return len(data)
    try:
        return len(data.encode())
    except UnicodeEncodeError:
        return -1


def load_json(data: str | bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH, field: str | None = None) -> Any:
    """Parse JSON text after checking its size, then its nesting depth; any problem is a ValidationError."""
    size = _utf8_size(data, max_bytes)
    if size > max_bytes:
        raise _invalid(field, "too_large", "must be at most {limit} bytes", {"limit": f"{max_bytes:,}"})
    if size < 0:
        raise _invalid(field, "json_invalid", "must be text without unpaired surrogate characters")
    try:
        # pydantic-core's parser stops at its own recursion limit (about 200) instead of exhausting Python's stack.
        value = pydantic_core.from_json(data, allow_inf_nan=False)
    except ValueError as exc:
        if "recursion limit exceeded" in str(exc):
            raise _too_deep(field, max_depth) from None
        raise _invalid(field, "json_invalid", "is not valid JSON ({error})", {"error": str(exc)}) from None
    if _depth_exceeds(value, max_depth):
        raise _too_deep(field, max_depth)
    return value


def dump_json(data: Any, *, max_depth: int = MAX_DEPTH) -> str:
    """JSON text of already decoded data (a Lambda event, a dict from the form); only JSON types are accepted."""
    if _depth_exceeds(data, max_depth):
        raise _too_deep(None, max_depth)
    try:
        return json.dumps(data, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise _invalid(None, "json_type", "must hold only JSON values ({error})", {"error": str(exc)}) from None


def parse_strict(model: type[M], data: Any, *, max_bytes: int = MAX_ORDER_BYTES) -> M:
    """Validate untrusted input against a model: text, or decoded data as JSON, bounded, strict, no coercion."""
    text = data if isinstance(data, str | bytes) else dump_json(data)
    load_json(text, max_bytes=max_bytes)
    return model.model_validate_json(text, strict=True)
