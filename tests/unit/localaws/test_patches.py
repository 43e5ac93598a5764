"""Declared corrections (localaws.services.patches): checked before they change anything, made once, stacked, named
when they no longer fit, and recorded."""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

from localaws.services import patches
from localaws.services.patches import Correction, CorrectionError, Kind

SOURCE = """
def greet(name):
    return "hello " + name


class Greeter:
    def greet(self, name):
        return "hello " + name

    @property
    def loud(self):
        return "HELLO"

    @classmethod
    def make(cls):
        return cls()
"""


@pytest.fixture
def target() -> Iterator[types.ModuleType]:
    """A module standing in for one of moto's (written to a file: a correction reads its source)."""
    import importlib.util
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fake_moto_module.py"
        path.write_text(SOURCE)
        spec = importlib.util.spec_from_file_location("fake_moto_module", path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["fake_moto_module"] = module
        spec.loader.exec_module(module)
        try:
            yield module
        finally:
            del sys.modules["fake_moto_module"]


def exclaim() -> Correction:
    correction = Correction("exclaim", Kind.FIX, "greetings end with a bang")

    @correction.replaces("fake_moto_module:greet", params=["name"], source=['"hello "'])
    def greet(original: Any, name: str) -> str:
        return original(name) + "!"

    @correction.replaces("fake_moto_module:Greeter.greet", params=["self", "name"])
    def method(original: Any, self: Any, name: str) -> str:
        return original(self, name) + "!"

    @correction.replaces("fake_moto_module:Greeter.loud")
    def loud(original: Any, self: Any) -> str:
        return original(self) + "!"

    @correction.replaces("fake_moto_module:Greeter.make")
    def make(original: Any, cls: Any) -> Any:
        made = original(cls)
        made.made_by_correction = True
        return made

    return correction


def test_a_correction_replaces_functions_methods_properties_and_classmethods_once(target: types.ModuleType) -> None:
    correction = exclaim()
    applied = correction.apply()
    assert {item.target for item in applied} == set(correction.targets)
    assert target.greet("ada") == "hello ada!"
    assert target.Greeter().greet("ada") == "hello ada!"
    assert target.Greeter().loud == "HELLO!"
    assert target.Greeter.make().made_by_correction
    correction.apply()  # again: nothing changes twice
    assert target.greet("ada") == "hello ada!"
    assert patches.is_ours(target.Greeter.__dict__["loud"])


def test_two_corrections_stack_on_one_target_and_each_applies_once(target: types.ModuleType) -> None:
    first, second = exclaim(), Correction("question", Kind.HOOK, "and then ask")

    @second.replaces("fake_moto_module:greet", params=["name"])
    def greet(original: Any, name: str) -> str:
        return original(name) + "?"

    for _ in range(2):
        first.apply()
        second.apply()
    assert target.greet("ada") == "hello ada!?"


@pytest.mark.parametrize(
    ("declare", "why"),
    [
        (lambda c: c.replaces("fake_moto_module:greet", params=["who"])(lambda o, n: n), "takes ['name']"),
        (lambda c: c.replaces("fake_moto_module:greet", source=["goodbye"])(lambda o, n: n), "no longer contains"),
        (lambda c: c.replaces("fake_moto_module:farewell")(lambda o: o), "is gone"),
        (lambda c: c.adds("fake_moto_module:greet")(lambda n: n), "moto now has"),
        (lambda c: c.expects("fake_moto_module:Greeter.greet", params=["self"]), "takes ['self', 'name']"),
    ],
    ids=["parameters", "source", "target gone", "added already", "expectation"],
)
def test_a_correction_that_no_longer_fits_is_named_and_changes_nothing(
    target: types.ModuleType, declare: Any, why: str
) -> None:
    correction = Correction("misfit", Kind.FIX, "written against another moto")
    correction.replaces("fake_moto_module:Greeter.greet")(lambda original, self, name: "changed")
    declare(correction)
    with pytest.raises(CorrectionError, match=rf"'misfit' no longer applies .*{re.escape(why)}"):
        correction.apply()
    assert target.Greeter().greet("ada") == "hello ada"  # checked before anything was changed


def test_apply_all_refuses_another_moto_version_and_records_what_it_made(
    target: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    correction = exclaim()
    monkeypatch.setattr(patches.moto, "__version__", "9.9.9")
    with pytest.raises(CorrectionError, match=r"moto 9\.9\.9 is installed"):
        patches.apply_all([correction])
    monkeypatch.undo()
    patches.apply_all([correction])
    assert [(item.correction, item.kind) for item in patches.applied()] == [("exclaim", Kind.FIX)] * 4
