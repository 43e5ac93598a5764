"""Execution names as Step Functions checks and gives them."""

from __future__ import annotations

import uuid
from typing import Any

from localaws.services.names import states_name_valid
from localaws.services.patches import Correction, Kind

execution_names = Correction(
    "Step Functions execution names",
    Kind.FIX,
    'moto\'s interpreter starts an execution by any name ("a/b", 200 characters) and names an unnamed one "None", so '
    "the second unnamed StartExecution fails with ExecutionAlreadyExists. Step Functions refuses a name it would not "
    "accept for a state machine (InvalidName; over 80 characters, a ValidationException) and names an unnamed "
    "execution with a UUID, which `aws stepfunctions start-execution` without --name relies on.",
)


@execution_names.replaces(
    "moto.stepfunctions.parser.models:StepFunctionsParserBackend.start_execution",
    params=["self", "state_machine_arn", "name", "execution_input", "trace_header"],
)
def start_execution(
    original: Any,
    self: Any,
    state_machine_arn: str,
    name: Any = None,
    execution_input: Any = None,
    trace_header: Any = None,
) -> Any:
    from moto.stepfunctions import exceptions

    if not name:
        name = str(uuid.uuid4())
    elif not states_name_valid(name):
        raise exceptions.InvalidName(f"Invalid Name: '{name}'")
    elif len(name) > 80:
        raise exceptions.NameTooLongException(name)
    return original(self, state_machine_arn, name, execution_input, trace_header)
