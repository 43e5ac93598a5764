"""Registering CloudFormation resource types that moto's CloudFormation skips, backed by the service's own API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from localaws.services.patches import Correction


def resource_type(correction: Correction, type_name: str) -> Callable[[Callable[[], type]], Callable[[], type]]:
    """Declare in correction that the function making a model class (a direct subclass of moto's CloudFormationModel)
    registers it as type_name with moto's CloudFormation, which looks types up among those subclasses, cached."""

    def declare(make_model: Callable[[], type]) -> Callable[[], type]:
        correction.check(_lookups_cached)
        correction.performs(f"CloudFormation type {type_name}", lambda: _registered(type_name))(
            lambda: _register(make_model())
        )
        return make_model

    return declare


def _lookups_cached() -> str | None:
    from moto.cloudformation import parsing

    cached = (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map)
    return None if all(hasattr(f, "cache_clear") for f in cached) else "moto no longer caches its CloudFormation types"


def _registered(type_name: str) -> bool:
    from moto.cloudformation.parsing import get_model_map

    return getattr(get_model_map().get(type_name), "__module__", "").startswith("localaws.")


def _register(model: type) -> None:
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    if CloudFormationModel not in model.__bases__:
        raise TypeError(f"{model.__name__} must subclass moto's CloudFormationModel directly")
    for function in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        function.cache_clear()


def api(service: str, region_name: str) -> Any:
    """A client of the in-process moto for one service (CloudFormation resources are created through the API)."""
    import boto3

    return boto3.client(service, region_name=region_name)


def api_parameters(properties: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    """The CloudFormation properties that are also parameters of the API call, by name."""
    return {key: value for key, value in properties.items() if key in allowed}
