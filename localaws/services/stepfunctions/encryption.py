"""State machines' encryption type, checked as Step Functions checks it."""

from __future__ import annotations

from typing import Any

from localaws.services.constraints import enum_problem
from localaws.services.patches import Correction, Kind

_PARSER = "moto.stepfunctions.parser.models:StepFunctionsParserBackend"

encryption_types = Correction(
    "Step Functions encryption types",
    Kind.FIX,
    'moto keeps any encryptionConfiguration.type ("CUSTOMER_MANAGED_CMK") and answers it back, which botocore\'s '
    "model does not allow; Step Functions refuses a type outside AWS_OWNED_KEY and CUSTOMER_MANAGED_KMS_KEY with a "
    "ValidationException.",
)


def _check(configuration: dict[str, Any] | None) -> None:
    from moto.stepfunctions.exceptions import ValidationException

    kind = (configuration or {}).get("type")
    problem = enum_problem(kind, "stepfunctions", "EncryptionType") if kind is not None else None
    if problem:
        raise ValidationException(
            f"1 validation error detected: Value '{kind}' at 'encryptionConfiguration.type' failed to satisfy "
            f"constraint: {problem}"
        )


@encryption_types.replaces(f"{_PARSER}.create_state_machine", source=["encryptionConfiguration"])
def create_state_machine(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
    _check(kwargs.get("encryptionConfiguration"))
    return original(self, *args, **kwargs)


@encryption_types.replaces(f"{_PARSER}.update_state_machine", source=["encryption_configuration"])
def update_state_machine(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
    _check(kwargs.get("encryption_configuration"))
    return original(self, *args, **kwargs)
