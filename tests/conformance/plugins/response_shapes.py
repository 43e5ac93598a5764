"""pytest plugin: every response a test's AWS clients receive is checked against the output shape botocore models
for its operation (every field the raw answer holds is one the model names, with the model's type and, for enums, one
of its values); a test that received one that is not fails, naming the operation and the field.

Our suite loads it from tests/conftest.py; the conformance run loads it on both servers, so a departure the local AWS
inherits from moto fails on both. The check is a botocore handler every new session registers, so clients made
anywhere in the test's process (the app's factory, moto's tests, boto3's default session) are checked.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from typing import Any

import botocore.handlers
import pytest
from botocore.model import OperationModel, Shape

# The protocols of the services the local AWS serves; others (S3's rest-xml, EC2's, in moto's CloudFormation tests)
# are not checked.
CHECKED_PROTOCOLS = ("json", "rest-json", "query")
_found: list[str] = []  # this test's problems, "service.Operation: where: what"


def _check_response(http_response: Any, model: OperationModel, **_: Any) -> None:
    if http_response is None or not 200 <= http_response.status_code < 300:
        return
    output = model.output_shape
    if model.has_streaming_output or (output is not None and output.serialization.get("payload")):
        return  # a payload (Lambda's Invoke) is the function's document, and reading a stream here would consume it
    protocol = model.service_model.resolved_protocol
    if protocol in CHECKED_PROTOCOLS:
        where = f"{model.service_model.service_name}.{model.name}"
        _found.extend(f"{where}: {problem}" for problem in problems(model, http_response.content, protocol))


def pytest_configure(config: pytest.Config) -> None:
    """Every botocore session made from now on checks its responses."""
    if ("after-call", _check_response) not in botocore.handlers.BUILTIN_HANDLERS:
        botocore.handlers.BUILTIN_HANDLERS.append(("after-call", _check_response))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """Fail the test whose responses departed from their shapes (after it ran: its own failure comes first)."""
    _found.clear()
    outcome = yield
    if _found:
        shown = sorted(set(_found))
        pytest.fail("responses that botocore's model does not allow:\n" + "\n".join(shown[:20]), pytrace=False)
    return outcome


_NUMBERS = {"integer": int, "long": int, "float": (int, float), "double": (int, float)}


def problems(operation: OperationModel, body: bytes, protocol: str | None = None) -> list[str]:
    """Where the raw response body departs from the operation's output shape (empty when it conforms)."""
    shape = operation.output_shape
    if shape is None or not body.strip() or shape.serialization.get("payload"):
        return []  # a payload member (Lambda's Invoke) is the body itself: the function's document, not a shape
    protocol = protocol or operation.service_model.resolved_protocol
    if protocol in ("json", "rest-json"):
        return _json_problems(json.loads(body), shape, shape.name)

    if protocol == "query":
        root = ElementTree.fromstring(body)  # noqa: S314 - the test's own local AWS answered this
        result = next((child for child in root if _local(child.tag).endswith("Result")), None)
        return [] if result is None else _xml_problems(result, shape, shape.name)
    raise ValueError(f"no checker for the {protocol} protocol")


def _body_members(shape: Shape) -> dict[str, tuple[str, Shape]]:
    """Members carried in the body, by their name on the wire."""
    return {
        member.serialization.get("name", name): (name, member)
        for name, member in shape.members.items()
        if member.serialization.get("location") in (None, "")
    }


def _scalar_problem(value: Any, shape: Shape, path: str) -> list[str]:
    kind = shape.type_name
    if kind == "string":
        if not isinstance(value, str):
            return [f"{path}: {value!r} is not a string"]
        if shape.enum and value not in shape.enum:
            return [f"{path}: {value!r} is not one of {shape.enum}"]
        return []
    if kind in _NUMBERS:
        ok = isinstance(value, _NUMBERS[kind]) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r} is not a {kind}"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: {value!r} is not a boolean"]
    if kind == "timestamp":
        ok = isinstance(value, int | float | str) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r} is not a timestamp"]
    if kind == "blob":
        return [] if isinstance(value, str | bytes) else [f"{path}: {value!r} is neither base64 text nor bytes"]
    return []


def _json_problems(value: Any, shape: Shape, path: str) -> list[str]:
    if value is None:
        return []  # a JSON null where AWS leaves the field out: parsed the same
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: {value!r} is not an object"]
        members = _body_members(shape)
        found: list[str] = []
        for key, item in value.items():
            if key not in members:
                found.append(f"{path}.{key}: not a member of {shape.name}")
            else:
                found += _json_problems(item, members[key][1], f"{path}.{key}")
        return found
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: {value!r} is not a list"]
        return [p for i, item in enumerate(value) for p in _json_problems(item, shape.member, f"{path}[{i}]")]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: {value!r} is not a map"]
        return [p for key, item in value.items() for p in _json_problems(item, shape.value, f"{path}[{key}]")]
    return _scalar_problem(value, shape, path)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_scalar(text: str, shape: Shape) -> Any:
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
    except ValueError:
        return text
    if kind == "boolean":
        return {"true": True, "false": False}.get(text, text)
    return text


def _xml_problems(element: ElementTree.Element, shape: Shape, path: str) -> list[str]:
    kind = shape.type_name
    if kind == "structure":
        members = _body_members(shape)
        found: list[str] = []
        for child in element:
            name = _local(child.tag)
            if name not in members:
                found.append(f"{path}.{name}: not a member of {shape.name}")
            else:
                found += _xml_problems(child, members[name][1], f"{path}.{name}")
        return found
    if kind == "list":
        return [p for i, item in enumerate(element) for p in _xml_problems(item, shape.member, f"{path}[{i}]")]
    if kind == "map":
        found = []
        for entry in element:
            value = next((child for child in entry if _local(child.tag) == "value"), None)
            if value is not None:
                found += _xml_problems(value, shape.value, f"{path}[]")
        return found
    return _scalar_problem(_xml_scalar(element.text or "", shape), shape, path)
