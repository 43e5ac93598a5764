"""CloudFormation's AWS::StepFunctions::StateMachine created where the Step Functions API looks, with the definition
AWS deploys."""

from __future__ import annotations

import json
from typing import Any

from localaws.services.patches import Correction, Kind

state_machines = Correction(
    "CloudFormation state machines",
    Kind.FIX,
    "moto's CloudFormation puts a state machine in the non-executing backend, where the Step Functions API cannot see "
    "it once execute_state_machine is on, and reads only DefinitionString: DefinitionS3Location (what `sam package` "
    "makes of DefinitionUri), DefinitionSubstitutions, StateMachineType, LoggingConfiguration and "
    "TracingConfiguration are ignored. The machine is created through the executing backend's API instead.",
)
_MACHINE = "moto.stepfunctions.models:StateMachine"
state_machines.expects("moto.stepfunctions.responses:get_backend", params=["account", "region"])


def _definition(properties: dict[str, Any], account_id: str, region_name: str) -> str:
    if "DefinitionString" in properties:
        definition = properties["DefinitionString"]
    elif "Definition" in properties:
        definition = json.dumps(properties["Definition"])
    elif "DefinitionS3Location" in properties:
        from moto.s3.models import s3_backends
        from moto.utilities.utils import get_partition

        location = properties["DefinitionS3Location"]
        s3 = s3_backends[account_id][get_partition(region_name)]
        definition = s3.get_object(location["Bucket"], location["Key"]).value.decode()
    else:
        raise ValueError("a state machine needs DefinitionString, Definition or DefinitionS3Location")
    for key, value in (properties.get("DefinitionSubstitutions") or {}).items():
        definition = definition.replace("${" + key + "}", str(value))
    return definition


@state_machines.replaces(
    f"{_MACHINE}.create_from_cloudformation_json",
    params=["cls", "resource_name", "cloudformation_json", "account_id", "region_name", "kwargs"],
)
def create_from_cloudformation_json(
    original: Any, cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
    **kwargs: Any,
) -> Any:  # fmt: skip
    from moto.stepfunctions import responses, utils

    properties = cloudformation_json["Properties"]
    return responses.get_backend(account_id, region_name).create_state_machine(
        name=properties.get("StateMachineName", resource_name),
        definition=_definition(properties, account_id, region_name),
        roleArn=properties.get("RoleArn", ""),
        tags=utils.cfn_to_api_tags(properties.get("Tags", [])),
        loggingConfiguration=_logging(properties),
        tracingConfiguration=_tracing(properties),
        sm_type=properties.get("StateMachineType", "STANDARD"),
    )


def _logging(properties: dict[str, Any]) -> dict[str, Any]:
    """The API's loggingConfiguration from CloudFormation's LoggingConfiguration (level OFF unless given, as on AWS)."""
    given = properties.get("LoggingConfiguration") or {}
    destinations = [
        {"cloudWatchLogsLogGroup": {"logGroupArn": d["CloudWatchLogsLogGroup"]["LogGroupArn"]}}
        for d in given.get("Destinations", [])
        if "CloudWatchLogsLogGroup" in d
    ]
    logging = {"level": given.get("Level", "OFF"), "includeExecutionData": bool(given.get("IncludeExecutionData"))}
    return logging | ({"destinations": destinations} if destinations else {})


def _tracing(properties: dict[str, Any]) -> dict[str, bool]:
    """The API's tracingConfiguration from CloudFormation's TracingConfiguration (off unless enabled, as on AWS)."""
    return {"enabled": bool((properties.get("TracingConfiguration") or {}).get("Enabled", False))}


@state_machines.replaces(
    f"{_MACHINE}.update_from_cloudformation_json",
    params=["cls", "original_resource", "new_resource_name", "cloudformation_json", "account_id", "region_name"],
)
def update_from_cloudformation_json(
    original: Any, cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: Any,
    account_id: str, region_name: str,
) -> Any:  # fmt: skip
    from moto.stepfunctions import responses, utils

    properties = cloudformation_json.get("Properties", {})
    backend = responses.get_backend(account_id, region_name)
    if properties.get("StateMachineName", original_resource.name) != original_resource.name:  # a replacement
        made = cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        backend.delete_state_machine(original_resource.arn)
        return made
    machine = backend.update_state_machine(
        original_resource.arn,
        definition=_definition(properties, account_id, region_name),
        role_arn=properties.get("RoleArn"),
        logging_configuration=_logging(properties),
        tracing_configuration=_tracing(properties),
    )
    # The template's tags are the machine's tags: those it no longer names go, as CloudFormation removes them.
    tags = utils.cfn_to_api_tags(properties.get("Tags", []))
    kept = {tag["key"] for tag in tags}
    held = backend.get_tags_list_for_state_machine(machine.arn)
    backend.tagger.untag_resource_using_names(machine.arn, [t["key"] for t in held if t["key"] not in kept])
    backend.tagger.tag_resource(machine.arn, tags)
    return machine


@state_machines.replaces(
    f"{_MACHINE}.delete_from_cloudformation_json",
    params=["cls", "resource_name", "cloudformation_json", "account_id", "region_name"],
)
def delete_from_cloudformation_json(
    original: Any, cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
) -> None:
    from moto.stepfunctions import responses

    responses.get_backend(account_id, region_name).delete_state_machine(resource_name)


@state_machines.check
def _classmethods() -> str | None:
    from moto.stepfunctions.models import StateMachine

    for name in (
        "create_from_cloudformation_json",
        "delete_from_cloudformation_json",
        "update_from_cloudformation_json",
    ):
        if not isinstance(StateMachine.__dict__.get(name), classmethod):
            return f"StateMachine.{name} is no longer a classmethod"
    return None
