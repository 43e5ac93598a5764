"""Changes to moto, each declared once: its name, its kind, why, the moto targets it replaces or adds, and the shape
it expects of them (parameters, phrases of their source). Applied idempotently against the pinned moto version, and
recorded, so `python -m localaws --corrections` lists what is in force.

Two kinds, kept apart: a FIX makes moto answer as AWS does (a wrong or missing answer, or one too slow to be usable);
a HOOK is where one of the emulator's own features (its journal, pollers, telemetry, alarm evaluation) attaches to
moto. A replacement is written as `def name(original, *args)`: it receives what it replaces first.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from types import ModuleType
from typing import Any, TypeVar

import moto

MOTO_VERSION = "5.2.5"  # every target below was read in this version; another one is refused until re-checked
MARK = "__localaws_correction__"  # set on every replacement: names the correction that made it

F = TypeVar("F", bound=Callable[..., Any])


class Kind(StrEnum):
    """Whether a correction fixes moto or attaches a feature of the emulator's own."""

    FIX = "fix"
    HOOK = "hook"


class CorrectionError(RuntimeError):
    """A correction no longer fits the installed moto."""


@dataclass(frozen=True)
class Applied:
    """One target a correction replaced or added."""

    correction: str
    kind: Kind
    target: str


@dataclass
class _Change:
    target: str
    function: Callable[..., Any]
    params: list[str] | None
    source: tuple[str, ...]
    adds: bool
    also_in: tuple[str, ...]


@dataclass
class Correction:
    """A change to moto, declared with `replaces`, `adds` and `expects`; `apply()` makes it, once."""

    name: str
    kind: Kind
    why: str
    _changes: list[_Change] = field(default_factory=list)
    _expectations: list[tuple[str, list[str] | None, tuple[str, ...]]] = field(default_factory=list)
    _checks: list[Callable[[], str | None]] = field(default_factory=list)
    _steps: list[tuple[str, Callable[[], None], Callable[[], bool]]] = field(default_factory=list)

    def replaces(
        self, target: str, *, params: list[str] | None = None, source: Iterable[str] = (), also_in: Iterable[str] = ()
    ) -> Callable[[F], F]:
        """Declare `function(original, *args, **kwargs)` as the replacement of target ("module:Class.attribute"; a
        function, method, property's getter, classmethod or staticmethod). params: the original's parameters;
        source: phrases its source must contain; also_in: modules that imported the target by name, rebound too."""

        def declare(function: F) -> F:
            self._changes.append(_Change(target, function, params, tuple(source), False, tuple(also_in)))
            return function

        return declare

    def adds(self, target: str) -> Callable[[F], F]:
        """Declare function as what moto lacks at target (refused once moto has something there)."""

        def declare(function: F) -> F:
            self._changes.append(_Change(target, function, None, (), True, ()))
            return function

        return declare

    def performs(self, target: str, done: Callable[[], bool]) -> Callable[[F], F]:
        """Declare function as a change that is no replacement (registering a CloudFormation type): target names what
        it makes, done() says whether that is in force already."""

        def declare(function: F) -> F:
            self._steps.append((target, function, done))
            return function

        return declare

    def expects(self, target: str, *, params: list[str] | None = None, source: Iterable[str] = ()) -> None:
        """Declare the shape of a target the correction relies on without replacing it."""
        self._expectations.append((target, params, tuple(source)))

    def check(self, function: Callable[[], str | None]) -> Callable[[], str | None]:
        """Declare a check that returns what no longer fits, or None."""
        self._checks.append(function)
        return function

    @property
    def targets(self) -> list[str]:
        """What it replaces, adds or makes."""
        return [change.target for change in self._changes] + [target for target, _, _ in self._steps]

    def apply(self) -> list[Applied]:
        """Check every target, then make the changes not made yet; return them all; CorrectionError names what no
        longer fits, before anything is changed."""
        pending = [change for change in self._changes if self.name not in _made_by(_current(change.target))]
        steps = [(function, done) for _, function, done in self._steps if not done()]
        if pending or steps:
            for target, params, source in self._expectations:
                self._check_shape(target, _unwrap(_current(target)), params, source)
            for change in pending:
                self._check_change(change)
            for check in self._checks:
                problem = check()
                if problem:
                    raise self._error(problem)
        for change in pending:
            self._make(change)
        for function, done in steps:
            function()
            if not done():
                raise self._error(f"{function.__qualname__} did not take effect")
        return [Applied(self.name, self.kind, target) for target in self.targets]

    def _check_change(self, change: _Change) -> None:
        current = _current(change.target)
        if change.adds:
            if current is not _MISSING:
                raise self._error(f"moto now has {change.target}: drop this correction")
            return
        self._check_shape(change.target, _unwrap(current), change.params, change.source)
        for name in change.also_in:
            if getattr(importlib.import_module(name), _owner(change.target)[1], None) is not current:
                raise self._error(f"{name}.{_owner(change.target)[1]} is not {change.target}")

    def _make(self, change: _Change) -> None:
        owner, attribute = _owner(change.target)
        current = _raw(owner, attribute)
        if change.adds:
            setattr(owner, attribute, _marked(change.function, self.name))
            return
        replacement = _rewrap(current, _calling_with(_unwrap(current), change.function, self.name))
        setattr(owner, attribute, replacement)
        for name in change.also_in:
            setattr(importlib.import_module(name), attribute, replacement)

    def _check_shape(self, target: str, original: Any, params: list[str] | None, source: tuple[str, ...]) -> None:
        if original is _MISSING:
            raise self._error(f"{target} is gone")
        if params is not None:
            found = list(inspect.signature(original).parameters)
            if found != params:
                raise self._error(f"{target} takes {found}, expected {params}")
        if source:
            text = inspect.getsource(original)
            missing = [phrase for phrase in source if phrase not in text]
            if missing:
                raise self._error(f"{target} no longer contains {missing[0]!r}")

    def _error(self, why: str) -> CorrectionError:
        return CorrectionError(f"moto correction {self.name!r} no longer applies to moto {moto.__version__}: {why}")


_MISSING = object()
_applied: list[Applied] = []
_lock = threading.Lock()


def apply_all(corrections: Iterable[Correction]) -> None:
    """Apply every correction (idempotent); refuse another moto version; raise CorrectionError naming one that no
    longer applies."""
    if moto.__version__ != MOTO_VERSION:
        raise CorrectionError(
            f"localaws.services is written against moto {MOTO_VERSION}, but moto {moto.__version__} is installed: "
            f"pin moto=={MOTO_VERSION} or re-check every correction"
        )
    with _lock:
        made: list[Applied] = []
        for correction in corrections:
            try:
                made += correction.apply()
            except CorrectionError:
                raise
            except Exception as exc:
                raise correction._error(repr(exc)) from exc
        _applied[:] = made


def applied() -> list[Applied]:
    """What the last apply_all() put in force."""
    return list(_applied)


def _owner(target: str) -> tuple[Any, str]:
    module_name, _, path = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *parents, attribute = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    return owner, attribute


def _raw(owner: Any, attribute: str) -> Any:
    if isinstance(owner, ModuleType):
        return getattr(owner, attribute, _MISSING)
    return owner.__dict__.get(attribute, _MISSING)  # the class's own: not a base class's


def _current(target: str) -> Any:
    return _raw(*_owner(target))


def _unwrap(value: Any) -> Any:
    """The function inside a property, classmethod or staticmethod."""
    if isinstance(value, property):
        return value.fget
    if isinstance(value, classmethod | staticmethod):
        return value.__func__
    return value


def _rewrap(current: Any, function: Callable[..., Any]) -> Any:
    """function in the same wrapper as what it replaces."""
    if isinstance(current, property):
        return property(function, current.fset, current.fdel, current.__doc__)
    if isinstance(current, classmethod):
        return classmethod(function)
    if isinstance(current, staticmethod):
        return staticmethod(function)
    return function


def _calling_with(original: Callable[..., Any], replacement: Callable[..., Any], name: str) -> Callable[..., Any]:
    @functools.wraps(original)
    def replaced(*args: Any, **kwargs: Any) -> Any:
        return replacement(original, *args, **kwargs)

    return _marked(replaced, name)


def _marked(function: Callable[..., Any], name: str) -> Callable[..., Any]:
    setattr(function, MARK, name)
    return function


def _made_by(value: Any) -> set[str]:
    """The corrections whose replacements value is, or wraps (several may replace one target, one over the other)."""
    names: set[str] = set()
    function = _unwrap(value)
    while function is not None and function is not _MISSING:
        name = getattr(function, MARK, None)
        if name is None:
            break
        names.add(name)
        function = getattr(function, "__wrapped__", None)
    return names


def is_ours(value: Any) -> bool:
    """Whether value (a function, property, classmethod or staticmethod) is one of the corrections' own."""
    return bool(_made_by(value))
