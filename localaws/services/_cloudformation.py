"""Registering CloudFormation resource types that moto's CloudFormation skips, backed by the service's own API."""

from __future__ import annotations

import importlib
from typing import Any

from localaws.services._patching import fail


def register(model: type) -> None:
    """Make moto's CloudFormation create model's resource type (it looks types up among CloudFormationModel's
    direct subclasses, cached)."""
    parsing = importlib.import_module("moto.cloudformation.parsing")
    base = importlib.import_module("moto.core.common_models").CloudFormationModel
    if base not in model.__bases__:
        raise fail("CloudFormation types", f"{model.__name__} must subclass moto's CloudFormationModel directly")
    cached = (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map)
    if not all(hasattr(function, "cache_clear") for function in cached):
        raise fail("CloudFormation types", "moto.cloudformation.parsing no longer caches its model lookups")
    for function in cached:
        function.cache_clear()
    if parsing.get_model_map().get(model.cloudformation_type()) is not model:
        raise fail("CloudFormation types", f"{model.cloudformation_type()} does not resolve to {model.__name__}")


def api(service: str, region_name: str) -> Any:
    """A client of the in-process moto for one service (CloudFormation resources are created through the API)."""
    import boto3

    return boto3.client(service, region_name=region_name)


def api_parameters(properties: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    """The CloudFormation properties that are also parameters of the API call, by name."""
    return {key: value for key, value in properties.items() if key in allowed}
