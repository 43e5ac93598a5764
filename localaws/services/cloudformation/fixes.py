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


stack_set_results = Correction(
    "CloudFormation stack set operation results",
    Kind.FIX,
    "moto gives each account and region of a stack set operation the operation's own status (STOPPED once stopped); "
    "ListStackSetOperationResults answers a result status (PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED): an "
    "instance a stopped operation did not reach is CANCELLED.",
)
# The operation's status (StackSetOperationStatus) as each of its instances' results says it.
_RESULT_STATUS = {"QUEUED": "PENDING", "STOPPING": "RUNNING", "STOPPED": "CANCELLED"}


@stack_set_results.replaces(
    "moto.cloudformation.models:CloudFormationBackend.list_stack_set_operation_results",
    params=["self", "stackset_name", "operation_id"],
)
def list_stack_set_operation_results(original: Any, self: Any, stackset_name: str, operation_id: str) -> Any:
    operation = original(self, stackset_name, operation_id)
    return operation | {"Status": _RESULT_STATUS.get(operation["Status"], operation["Status"])}


CORRECTIONS = (resource_errors, stack_set_results)
