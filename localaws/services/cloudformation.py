"""Corrections to moto's CloudFormation."""

from __future__ import annotations

import functools
import importlib
from typing import Any

from localaws.services._patching import is_ours, mark, require_params


def name_the_failing_resource() -> None:
    """When a resource cannot be created, moto lets the exception escape (HTTP 500, no resource named); AWS fails
    the stack with a reason that names the resource. The error now names it, as a ValidationError."""
    correction = "CloudFormation resource errors"
    parsing = importlib.import_module("moto.cloudformation.parsing")
    exceptions = importlib.import_module("moto.cloudformation.exceptions")
    original = parsing.parse_and_create_resource
    if is_ours(original):
        return
    require_params(correction, original, ["logical_id", "resource_json", "resources_map", "account_id", "region_name"])

    @functools.wraps(original)
    def parse_and_create_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        try:
            return original(logical_id, resource_json, resources_map, account_id, region_name)
        except exceptions.ValidationError:
            raise
        except Exception as exc:
            kind = resource_json.get("Type", "resource")
            raise exceptions.ValidationError(message=f"{logical_id} ({kind}) failed to create: {exc!r}") from exc

    parsing.parse_and_create_resource = mark(parse_and_create_resource)


CORRECTIONS = (("CloudFormation resource errors", name_the_failing_resource),)
