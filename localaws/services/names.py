"""AWS's rules for the names the local AWS keeps (functions, queues, state machines, executions, tables), checked
before a name is stored or reaches a path; each answer is the one the service gives."""

from __future__ import annotations

import re

# Lambda's FunctionName parameter: a name, or a full or partial ARN (CreateFunction, GetFunction, ...).
FUNCTION_NAME_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)"
    r"(:(\$LATEST|[a-zA-Z0-9-_]+))?"
)
_FUNCTION_NAME = re.compile(FUNCTION_NAME_PATTERN)
TABLE_NAME_PATTERN = "[a-zA-Z0-9_.-]+"
_TABLE_NAME = re.compile(TABLE_NAME_PATTERN)
# Step Functions' names: no white space, brackets, wildcards, these specials, or control characters.
_NOT_IN_STATES_NAMES = set('<>{}[]?*"#%\\^|~`$&,;:/')


def function_name_problem(name: str) -> str | None:
    """Why Lambda refuses a FunctionName (as its ValidationException words it), or None."""
    match = _FUNCTION_NAME.fullmatch(name)
    if not match or len(name) > 140:
        return f"Member must satisfy regular expression pattern: {FUNCTION_NAME_PATTERN}"
    if len(match.group(7)) > 64:
        return "Member must have length less than or equal to 64"
    return None


def table_name_problem(name: str) -> str | None:
    """Why DynamoDB refuses a table name (as its ValidationException words it), or None."""
    if not _TABLE_NAME.fullmatch(name):
        return f"Member must satisfy regular expression pattern: {TABLE_NAME_PATTERN}"
    if not 3 <= len(name) <= 255:
        return "Member must have length between 3 and 255"
    return None


def states_name_valid(name: str) -> bool:
    """Whether Step Functions accepts a state machine or execution name (1 to 80 characters are checked apart)."""
    return not any(
        char in _NOT_IN_STATES_NAMES or char.isspace() or ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in name
    )
