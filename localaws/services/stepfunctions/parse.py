"""Parsing shared: a state machine's definition parsed once rather than once per execution, each JSONPath compiled
once rather than at every evaluation."""

from __future__ import annotations

import functools
from typing import Any

from localaws.services.patches import Correction, Kind

definition_parse = Correction(
    "Step Functions definition parse",
    Kind.FIX,
    "moto parses the whole definition with ANTLR for every execution: 70-180 ms of CPU for the 11-state workflow, "
    "which capped a burst at ~6 executions/s on 2 cores. The parsed program is read-only while it runs except in "
    "Parallel and Map states (their components count live branches), so only definitions without those share one.",
)
_UNSHAREABLE_STATE_TYPES = ('"Parallel"', '"Map"')


@functools.lru_cache(maxsize=32)
def _shared_parse(original: Any, definition: str) -> Any:
    return original(definition)


@definition_parse.replaces(
    "moto.stepfunctions.parser.asl.parse.asl_parser:AmazonStateLanguageParser.parse", params=["definition"]
)
def parse_definition(original: Any, definition: str) -> Any:
    if any(kind in definition for kind in _UNSHAREABLE_STATE_TYPES):
        return original(definition)
    return _shared_parse(original, definition)


@definition_parse.check
def _parse_is_a_staticmethod() -> str | None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    if isinstance(AmazonStateLanguageParser.__dict__.get("parse"), staticmethod):
        return None
    return "AmazonStateLanguageParser.parse is not a staticmethod"


jsonpath_parse = Correction(
    "Step Functions JSONPath parse",
    Kind.FIX,
    "Each JSONPath evaluation builds a new PLY parser (~1 ms); compiled paths are immutable, so they are shared.",
)
_JSON_PATH = "moto.stepfunctions.parser.asl.utils.json_path"
_RESULT_PATH = "moto.stepfunctions.parser.asl.component.common.path.result_path"


def _call(original: Any, *args: Any, **kwargs: Any) -> Any:
    return original(*args, **kwargs)


_compiled_json_paths = functools.lru_cache(maxsize=4096)(_call)  # jsonpath_ng.ext's parse
_compiled_result_paths = functools.lru_cache(maxsize=4096)(_call)  # jsonpath_ng's


@jsonpath_parse.replaces(f"{_JSON_PATH}:parse", params=["path", "debug"])
def parse_json_path(original: Any, *args: Any, **kwargs: Any) -> Any:
    return _compiled_json_paths(original, *args, **kwargs)


@jsonpath_parse.replaces(f"{_RESULT_PATH}:parse", params=["string"])
def parse_result_path(original: Any, *args: Any, **kwargs: Any) -> Any:
    return _compiled_result_paths(original, *args, **kwargs)


@jsonpath_parse.check
def _parses_are_jsonpath_ngs() -> str | None:
    import importlib

    for name in (_JSON_PATH, _RESULT_PATH):
        parse = getattr(importlib.import_module(name), "parse", None)
        if not callable(parse) or not getattr(parse, "__module__", "").startswith("jsonpath_ng"):
            return f"{name}.parse is not jsonpath_ng's parse"
    return None
