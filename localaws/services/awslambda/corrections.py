"""Corrections to moto's Lambda: its control plane stays moto's; invocation and event sources are ours."""

from __future__ import annotations

import functools
import importlib
import inspect
from typing import Any

from localaws.services import iam
from localaws.services._names import function_name_problem
from localaws.services._patching import fail, is_ours, mark, require_params

# Function properties moto's CloudFormation drops (it passes a fixed list to CreateFunction) that change how a
# function runs or what GetFunctionConfiguration answers.
# (Layers stay unused: the local interpreter's site-packages provide what a layer holds.)
_KEPT_PROPERTIES = ("LoggingConfig", "TracingConfig", "Architectures")
_POLLER_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")  # an SQS event source's


def _default_logging_config(function: Any) -> dict[str, str]:
    return {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{function.function_name}"}


def logging_config() -> None:
    """moto forgets a function's LoggingConfig (and CloudFormation's TracingConfig and Architectures).

    Lambda writes a function's logs to LoggingConfig.LogGroup in LoggingConfig.LogFormat and returns the
    config from GetFunctionConfiguration; the local runtime and its telemetry read it from here.
    """
    correction = "Lambda LoggingConfig"
    models = importlib.import_module("moto.awslambda.models")
    function_cls = models.LambdaFunction
    init = function_cls.__dict__["__init__"]
    if is_ours(init):
        return
    require_params(correction, init, ["self", "account_id", "spec", "region", "version"])
    require_params(correction, function_cls.__dict__["get_configuration"], ["self", "on_create"])
    require_params(correction, function_cls.__dict__["update_configuration"], ["self", "config_updates"])
    create_cfn = function_cls.__dict__["create_from_cloudformation_json"]
    if not isinstance(create_cfn, classmethod) or "optional_properties" not in inspect.getsource(create_cfn.__func__):
        raise fail(correction, "LambdaFunction.create_from_cloudformation_json no longer filters properties")
    get_configuration = function_cls.__dict__["get_configuration"]
    update_configuration = function_cls.__dict__["update_configuration"]

    @functools.wraps(init)
    def __init__(self: Any, account_id: str, spec: dict[str, Any], region: str, version: str | int = 1) -> None:
        init(self, account_id, spec, region, version)
        self.logging_config = _default_logging_config(self) | (spec.get("LoggingConfig") or {})

    @functools.wraps(get_configuration)
    def get_configuration_with_logging(self: Any, on_create: bool = False) -> dict[str, Any]:
        config = get_configuration(self, on_create)
        config["LoggingConfig"] = getattr(self, "logging_config", None) or _default_logging_config(self)
        return config

    @functools.wraps(update_configuration)
    def update_configuration_with_logging(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "LoggingConfig" in config_updates:
            self.logging_config = _default_logging_config(self) | config_updates["LoggingConfig"]
        return update_configuration(self, config_updates)

    def create_from_cloudformation_json(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        function = create_cfn.__func__(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        kept = {k: v for k, v in cloudformation_json["Properties"].items() if k in _KEPT_PROPERTIES}
        if kept:
            function.update_configuration(kept)
            for key, attribute in (("TracingConfig", "tracing_config"), ("Architectures", "architectures")):
                if key in kept:
                    setattr(function, attribute, kept[key])
        return function

    function_cls.__init__ = mark(__init__)
    function_cls.get_configuration = mark(get_configuration_with_logging)
    function_cls.update_configuration = mark(update_configuration_with_logging)
    function_cls.create_from_cloudformation_json = classmethod(mark(create_from_cloudformation_json))


def sqs_event_sources() -> None:
    """moto attaches an SQS event-source mapping to its queue and then, inside SendMessage, receives the message and
    invokes the function through its Docker-based Lambda. Lambda polls the queue instead; so does our event source
    (localaws/services/awslambda/event_source.py), which needs the mapping left off the queue. moto also accepts a
    queue whose visibility timeout is shorter than the function timeout, which Lambda refuses."""
    correction = "Lambda SQS event sources"
    models = importlib.import_module("moto.awslambda.models")
    backend_cls = models.LambdaBackend
    create = backend_cls.__dict__["create_event_source_mapping"]
    if is_ours(create):
        return
    require_params(correction, create, ["self", "spec"])
    if "queue.lambda_event_source_mappings[esm.function_arn] = esm" not in inspect.getsource(create):
        raise fail(correction, "create_event_source_mapping no longer attaches the mapping to the queue")

    @functools.wraps(create)
    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        from moto.sqs.models import sqs_backends

        queues = sqs_backends[self.account_id][self.region_name].queues.values()
        queue = next((q for q in queues if q.queue_arn == spec.get("EventSourceArn")), None)
        if queue is not None and spec.get("FunctionName"):
            function = self.get_function(spec["FunctionName"])
            if int(queue.visibility_timeout) < int(function.timeout):
                raise models.InvalidParameterValueException(
                    f"Queue visibility timeout: {queue.visibility_timeout} seconds is less than Function timeout: "
                    f"{function.timeout} seconds"
                )
            # Lambda polls with the function's execution role, and checks it may before it creates the mapping.
            missing = iam.missing_permission(function.role, _POLLER_ACTIONS, queue.queue_arn)
            if missing:
                raise models.InvalidParameterValueException(
                    f"The provided execution role does not have permissions to call {missing.split(':')[1]} on SQS"
                )
        mapping = create(self, spec)
        if queue is not None:
            queue.lambda_event_source_mappings.pop(mapping.function_arn, None)
        return mapping

    backend_cls.create_event_source_mapping = mark(create_event_source_mapping)


def mapping_answers_without_tags() -> None:
    """moto puts the mapping's Tags into every event-source mapping it returns; Lambda's
    EventSourceMappingConfiguration has no such member (tags come from ListTags). And moto answers "Disabled" at
    once where Lambda answers "Disabling" until its pollers have stopped."""
    correction = "Lambda event-source mapping answers"
    mapping_cls = importlib.import_module("moto.awslambda.models").EventSourceMapping
    original = mapping_cls.__dict__["get_configuration"]
    if is_ours(original):
        return
    require_params(correction, original, ["self"])

    @functools.wraps(original)
    def get_configuration(self: Any) -> dict[str, Any]:
        from localaws.services.awslambda.event_source import still_polling

        configuration = original(self)
        configuration.pop("Tags", None)
        if configuration.get("State") == "Disabled" and still_polling(self.uuid):
            configuration["State"] = "Disabling"
        return configuration

    mapping_cls.get_configuration = mark(get_configuration)


def function_names() -> None:
    """moto creates a function by any name ("../../escape", "a b"); Lambda refuses a FunctionName outside its
    pattern, and a name is what the runtime once named the function's code folder by."""
    correction = "Lambda function names"
    models = importlib.import_module("moto.awslambda.models")
    exceptions = importlib.import_module("moto.awslambda.exceptions")
    original = models.LambdaBackend.__dict__["create_function"]
    if is_ours(original):
        return
    require_params(correction, original, ["self", "spec"])

    @functools.wraps(original)
    def create_function(self: Any, spec: dict[str, Any]) -> Any:
        name = spec.get("FunctionName")
        problem = function_name_problem(name) if isinstance(name, str) else None
        if problem:
            raise exceptions.ValidationException(name, "functionName", problem)
        return original(self, spec)

    models.LambdaBackend.create_function = mark(create_function)


CORRECTIONS = (
    ("Lambda function names", function_names),
    ("Lambda LoggingConfig", logging_config),
    ("Lambda SQS event sources", sqs_event_sources),
    ("Lambda event-source mapping answers", mapping_answers_without_tags),
)
