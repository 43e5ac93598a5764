"""Where moto's CloudFormation answers otherwise than CloudFormation."""

from __future__ import annotations

from typing import Any

from localaws.services.patches import Correction, Kind

resource_errors = Correction(
    "CloudFormation resource errors",
    Kind.FIX,
    "When a resource cannot be created, moto lets the exception escape (HTTP 500, no resource named); AWS fails the "
    "stack with a reason that names the resource. The error now names it, as a ValidationError.",
)


@resource_errors.replaces(
    "moto.cloudformation.parsing:parse_and_create_resource",
    params=["logical_id", "resource_json", "resources_map", "account_id", "region_name"],
)
def parse_and_create_resource(
    original: Any, logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
) -> Any:
    from moto.cloudformation.exceptions import ValidationError

    try:
        return original(logical_id, resource_json, resources_map, account_id, region_name)
    except ValidationError:
        raise
    except Exception as exc:
        kind = resource_json.get("Type", "resource")
        raise ValidationError(message=f"{logical_id} ({kind}) failed to create: {exc!r}") from exc


CORRECTIONS = (resource_errors,)
