"""Where moto's Lambda control plane answers otherwise than Lambda (its invocation and event sources are ours)."""

from __future__ import annotations

import json
from typing import Any

from localaws.services.constraints import enum_problem
from localaws.services.iam.principals import missing_permission
from localaws.services.names import function_name_problem
from localaws.services.patches import Correction, Kind

_MODELS = "moto.awslambda.models"

function_names = Correction(
    "Lambda function names",
    Kind.FIX,
    'moto creates a function by any name ("../../escape", "a b"); Lambda refuses a FunctionName outside its pattern, '
    "and a name is what the runtime once named the function's code folder by.",
)


@function_names.replaces(f"{_MODELS}:LambdaBackend.create_function", params=["self", "spec"])
def create_function(original: Any, self: Any, spec: dict[str, Any]) -> Any:
    from moto.awslambda.exceptions import ValidationException

    name = spec.get("FunctionName")
    problem = function_name_problem(name) if isinstance(name, str) else None
    if problem:
        raise ValidationException(name, "functionName", problem)
    return original(self, spec)


package_types = Correction(
    "Lambda package types",
    Kind.FIX,
    'moto keeps any PackageType ("ZIP") and answers it back, which botocore\'s model does not allow; Lambda refuses '
    "one other than Zip or Image with a ValidationException.",
)


@package_types.replaces(f"{_MODELS}:LambdaBackend.create_function", params=["self", "spec"])
def create_with_package_type(original: Any, self: Any, spec: dict[str, Any]) -> Any:
    from moto.awslambda.exceptions import ValidationException

    package_type = spec.get("PackageType")
    problem = enum_problem(package_type, "lambda", "PackageType") if package_type is not None else None
    if problem:
        raise ValidationException(package_type, "packageType", problem)
    return original(self, spec)


# Function properties moto's CloudFormation drops (it passes a fixed list to CreateFunction) that change how a
# function runs or what GetFunctionConfiguration answers. (Layers stay unused: the local interpreter's site-packages
# provide what a layer holds.)
_KEPT_PROPERTIES = ("LoggingConfig", "TracingConfig", "Architectures")

logging_config = Correction(
    "Lambda LoggingConfig",
    Kind.FIX,
    "moto forgets a function's LoggingConfig (and CloudFormation's TracingConfig and Architectures). Lambda writes a "
    "function's logs to LoggingConfig.LogGroup in LoggingConfig.LogFormat and returns the config from "
    "GetFunctionConfiguration; the local runtime and its telemetry read it from there.",
)


def _default_logging_config(function: Any) -> dict[str, str]:
    return {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{function.function_name}"}


@logging_config.replaces(
    f"{_MODELS}:LambdaFunction.__init__", params=["self", "account_id", "spec", "region", "version"]
)
def init_with_logging(
    original: Any, self: Any, account_id: str, spec: dict[str, Any], region: str, version: str | int = 1
) -> None:
    original(self, account_id, spec, region, version)
    self.logging_config = _default_logging_config(self) | (spec.get("LoggingConfig") or {})


@logging_config.replaces(f"{_MODELS}:LambdaFunction.get_configuration", params=["self", "on_create"])
def configuration_with_logging(original: Any, self: Any, on_create: bool = False) -> dict[str, Any]:
    config = original(self, on_create)
    config["LoggingConfig"] = getattr(self, "logging_config", None) or _default_logging_config(self)
    return config


@logging_config.replaces(f"{_MODELS}:LambdaFunction.update_configuration", params=["self", "config_updates"])
def update_with_logging(original: Any, self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
    if "LoggingConfig" in config_updates:
        self.logging_config = _default_logging_config(self) | config_updates["LoggingConfig"]
    return original(self, config_updates)


@logging_config.replaces(f"{_MODELS}:LambdaFunction.create_from_cloudformation_json", source=["optional_properties"])
def created_with_logging(
    original: Any, cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
    **kwargs: Any,
) -> Any:  # fmt: skip
    function = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    kept = {k: v for k, v in cloudformation_json["Properties"].items() if k in _KEPT_PROPERTIES}
    if kept:
        function.update_configuration(kept)
        for key, attribute in (("TracingConfig", "tracing_config"), ("Architectures", "architectures")):
            if key in kept:
                setattr(function, attribute, kept[key])
    return function


_POLLER_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")  # an SQS event source's

sqs_event_sources = Correction(
    "Lambda SQS event sources",
    Kind.FIX,
    "moto attaches an SQS event-source mapping to its queue and then, inside SendMessage, receives the message and "
    "invokes the function through its Docker-based Lambda. Lambda polls the queue instead; so does our event source "
    "(awslambda/event_source.py), which needs the mapping left off the queue. moto also accepts a queue whose "
    "visibility timeout is shorter than the function timeout, and a role that may not poll the queue: Lambda "
    "refuses both.",
)


@sqs_event_sources.replaces(
    f"{_MODELS}:LambdaBackend.create_event_source_mapping",
    params=["self", "spec"],
    source=["queue.lambda_event_source_mappings[esm.function_arn] = esm"],
)
def create_event_source_mapping(original: Any, self: Any, spec: dict[str, Any]) -> Any:
    from moto.awslambda.exceptions import InvalidParameterValueException
    from moto.sqs.models import sqs_backends

    queues = sqs_backends[self.account_id][self.region_name].queues.values()
    queue = next((q for q in queues if q.queue_arn == spec.get("EventSourceArn")), None)
    if queue is not None and spec.get("FunctionName"):
        function = self.get_function(spec["FunctionName"])
        if int(queue.visibility_timeout) < int(function.timeout):
            raise InvalidParameterValueException(
                f"Queue visibility timeout: {queue.visibility_timeout} seconds is less than Function timeout: "
                f"{function.timeout} seconds"
            )
        # Lambda polls with the function's execution role, and checks it may before it creates the mapping.
        missing = missing_permission(function.role, _POLLER_ACTIONS, queue.queue_arn)
        if missing:
            raise InvalidParameterValueException(
                f"The provided execution role does not have permissions to call {missing.split(':')[1]} on SQS"
            )
    mapping = original(self, spec)
    if queue is not None:
        queue.lambda_event_source_mappings.pop(mapping.function_arn, None)
    return mapping


mapping_answers = Correction(
    "Lambda event-source mapping answers",
    Kind.FIX,
    "moto puts the mapping's Tags into every event-source mapping it returns; Lambda's EventSourceMappingConfiguration "
    'has no such member (tags come from ListTags). And moto answers "Disabled" at once where Lambda answers '
    '"Disabling" until its pollers have stopped.',
)


@mapping_answers.replaces(f"{_MODELS}:EventSourceMapping.get_configuration", params=["self"])
def mapping_configuration(original: Any, self: Any) -> dict[str, Any]:
    from localaws.services.awslambda.event_source import still_polling

    configuration = original(self)
    configuration.pop("Tags", None)
    if configuration.get("State") == "Disabled" and still_polling(self.uuid):
        configuration["State"] = "Disabling"
    return configuration


layer_listings = Correction(
    "Lambda layer listings",
    Kind.FIX,
    "moto lists a layer version (ListLayerVersions, ListLayers' LatestMatchingVersion) as GetLayerVersion answers it, "
    "with Content and LayerArn; Lambda's LayerVersionsListItem has neither (GetLayerVersion gives them).",
)
_NOT_LISTED = ("Content", "LayerArn")


def _listed(version: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in version.items() if key not in _NOT_LISTED}


@layer_listings.replaces(f"{_MODELS}:Layer.to_dict", params=["self"], source=["get_layer_version()"])
def layer_summary(original: Any, self: Any) -> dict[str, Any]:
    summary = original(self)
    if "LatestMatchingVersion" in summary:
        summary["LatestMatchingVersion"] = _listed(summary["LatestMatchingVersion"])
    return summary


@layer_listings.replaces(
    "moto.awslambda.responses:LambdaResponse.list_layer_versions", params=["self"], source=["get_layer_version()"]
)
def list_layer_versions(original: Any, self: Any) -> str:
    answer = json.loads(original(self))
    answer["LayerVersions"] = [_listed(version) for version in answer["LayerVersions"]]
    return json.dumps(answer)


CORRECTIONS = (function_names, package_types, logging_config, sqs_event_sources, mapping_answers, layer_listings)
