"""Helpers every moto correction uses: recognise our own replacements, check a target still looks as expected."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import moto

# Set on every replacement function so a second apply() recognises its own work.
MARK = "__localaws_correction__"


class CorrectionError(RuntimeError):
    """A correction no longer fits the installed moto."""


def fail(correction: str, why: str) -> CorrectionError:
    """The error for a correction whose target changed."""
    return CorrectionError(f"moto correction {correction!r} no longer applies to moto {moto.__version__}: {why}")


def is_ours(obj: object, tag: str = MARK) -> bool:
    """Whether obj is one of our replacements (tag: a later correction wrapping an earlier one has its own)."""
    return bool(getattr(obj, tag, False))


def mark(func: Callable[..., Any], tag: str = MARK) -> Callable[..., Any]:
    """Mark func as one of our replacements."""
    setattr(func, MARK, True)
    setattr(func, tag, True)
    return func


def acknowledged(answer: Callable[[Any], Any], journal: list[Any], tag: str) -> Callable[[Any], Any]:
    """A moto response handler that answers once what it wrote to the journal (journal: [] or [Journal]) is on disk:
    one sync per request, however many items or messages it wrote."""

    @functools.wraps(answer)
    def synced(self: Any) -> Any:
        result = answer(self)
        if journal:
            journal[0].sync()
        return result

    return mark(synced, tag)


def require_params(correction: str, func: object, expected: list[str]) -> None:
    """Raise unless func takes exactly the expected parameters."""
    if not callable(func):
        raise fail(correction, f"{func!r} is not callable")
    params = list(inspect.signature(func).parameters)
    if params != expected:
        raise fail(correction, f"{getattr(func, '__qualname__', func)} takes {params}, expected {expected}")


def iter_backends(backend_dict: Any) -> Iterator[Any]:
    """Every account/region backend of a service (snapshots: other threads may add backends meanwhile)."""
    for account_backends in list(backend_dict.values()):
        yield from list(account_backends.values())


def rewrite_prefix(items: list[Any], length: int, kept: list[Any]) -> None:
    """Replace the first length items by kept in one slice assignment, keeping whatever was appended since."""
    # moto only ever appends to these lists (from other threads); one slice assignment is a single C call
    # under the GIL.
    items[:length] = kept
