"""Where moto's IAM access control judges otherwise than AWS: scoped policies, refusals' protocol, Allow statements,
inline policies from CloudFormation, and a signature checked twice."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from typing import Any

from localaws.services.iam import resources
from localaws.services.patches import Correction, Kind

_AUTHORIZATION = "moto.core.authorization:ActionAuthenticatorMixin"
_ACCESS_CONTROL = "moto.iam.access_control"

scoped_resources = Correction(
    "IAM resources",
    Kind.FIX,
    'moto judges every action of DynamoDB, Step Functions, SNS, Logs and Lambda against the resource "*", so a policy '
    "naming a table, state machine, topic, log group or function (as the template's roles do) allows nothing. The "
    "request's resources are named as AWS's service authorization reference names them, and each is judged (a "
    "BatchWriteItem over two tables needs both).",
)


@scoped_resources.replaces(f"{_AUTHORIZATION}._authenticate_and_authorize_normal_action", params=["self", "resource"])
def authorize_each_resource(original: Any, self: Any, resource: str = "*") -> None:
    for each in (resources.of(self) if resource == "*" else []) or [resource]:
        original(self, each)


_checked = threading.local()  # the signature the endpoint verified for the request this thread is answering


@contextlib.contextmanager
def signature_checked(signature: str) -> Iterator[None]:
    """While this thread answers a request whose signature the endpoint verified, moto need not verify it again."""
    _checked.signature = signature
    try:
        yield
    finally:
        _checked.signature = None


signature_once = Correction(
    "IAM signature checked once",
    Kind.FIX,
    "moto verifies each request's signature again after the endpoint did, rebuilding the request from what its parser "
    "kept; for Lambda's GET requests it signs the headers as if they were a form body, and refuses every correctly "
    "signed ListFunctions or GetFunction. A signature the endpoint verified, on the thread answering that very "
    "request, is taken as verified; in-process callers (other threads) are still checked by moto.",
)


@signature_once.replaces(f"{_ACCESS_CONTROL}:IAMRequestBase.check_signature", params=["self"])
def check_signature(original: Any, self: Any) -> None:
    signature = self._get_string_between("Signature=", ",", self._headers["Authorization"])
    if not signature or signature != getattr(_checked, "signature", None):
        original(self)


# moto's XML codes and the codes AWS's JSON protocols use for the same refusal.
_JSON_CODES = {
    "AccessDenied": "AccessDeniedException",
    "InvalidClientTokenId": "UnrecognizedClientException",
    "SignatureDoesNotMatch": "InvalidSignatureException",
}

refusals_in_json = Correction(
    "IAM refusals in JSON",
    Kind.FIX,
    "moto answers an access-control refusal in XML whatever the protocol, so an SDK talking JSON (DynamoDB, SQS, Step "
    "Functions, Logs, CloudWatch, Lambda) sees an unparseable 403. It is now answered as AWS's JSON protocols answer "
    "it (AccessDeniedException, ...), naming the resource as AWS does.",
)


@refusals_in_json.replaces(
    f"{_AUTHORIZATION}._authenticate_and_authorize_action", params=["self", "iam_request_cls", "resource"]
)
def refuse_in_json(original: Any, self: Any, iam_request_cls: type, resource: str = "*") -> None:
    from moto.core.exceptions import HTTPException, JsonRESTError

    try:
        original(self, iam_request_cls, resource)
    except HTTPException as refused:
        code = getattr(refused, "error_type", "")
        if code not in _JSON_CODES or not _speaks_json(self):
            raise
        message = refused.message if code != "AccessDenied" else _denied_message(refused.message, resource)
        json_error = JsonRESTError(_JSON_CODES[code], message)
        json_error.code = 403 if self.service_name == "awslambda" else 400
        raise json_error from refused


def _speaks_json(response: Any) -> bool:
    content_type = response.headers.get("Content-Type") or ""
    return bool(response.headers.get("X-Amz-Target")) or "json" in content_type or response.service_name == "awslambda"


def _denied_message(message: str, resource: str) -> str:
    action = message.rsplit("perform: ", 1)[-1]
    return f"{message} on resource: {resource} because no identity-based policy allows the {action} action"


allow_statements = Correction(
    "IAM Allow statements",
    Kind.FIX,
    "moto's evaluation of one statement errs both ways. It ignores a condition it cannot judge (an operator other "
    "than StringEquals, or a key the request does not carry), so a conditional Allow allows: on AWS a condition on a "
    "missing key is false and the Allow does not apply. It turns an Allow whose condition or principal does not "
    "match into an explicit Deny that overrides every other Allow, fails (HTTP 500) on a trust policy naming a service "
    "principal, and reads a trust policy naming an account (its id or arn:aws:iam::<account>:root) as naming no one "
    "of it. An Allow now either applies or does not (failing closed when moto cannot judge it), an account trusts "
    "its principals; a Deny is unchanged, so a Deny with a condition still denies.",
)
allow_statements.expects(
    "moto.iam.policy_conditions:TrustCondition.verify_condition", source=["CONDITION_OPERATIONS.get"]
)


@allow_statements.replaces(
    f"{_ACCESS_CONTROL}:IAMPolicyStatement.is_action_permitted",
    params=["self", "action", "resource", "principal", "incoming_condition_values"],
    source=["_check_conditions"],
)
def allow_applies_or_not(
    original: Any,
    self: Any,
    action: str,
    resource: str = "*",
    principal: str | None = None,
    incoming_condition_values: dict[str, str] | None = None,
) -> Any:
    from moto.iam.access_control import PermissionResult

    if self._statement.get("Effect") != "Allow":
        return original(self, action, resource, principal, incoming_condition_values)
    named = self._statement.get("Principal")
    if principal and isinstance(named, dict):
        if "AWS" not in named:
            return PermissionResult.NEUTRAL  # a service principal ("lambda.amazonaws.com") is never an IAM caller
        if _trusts_the_account_of(named["AWS"], principal):
            principal = None  # moto compares ARNs only; the account (its root or its id) trusts each of its principals
    condition = self._statement.get("Condition")
    if condition and not _judgeable(condition, incoming_condition_values):
        return PermissionResult.NEUTRAL
    verdict = original(self, action, resource, principal, incoming_condition_values)
    return PermissionResult.NEUTRAL if verdict is PermissionResult.DENIED else verdict


def _trusts_the_account_of(named: Any, principal: str) -> bool:
    """Whether a trust policy's AWS principal names the principal's account: "*", its id or its root user's ARN."""
    account = principal.split(":")[4]
    names = named if isinstance(named, list) else [named]
    return any(name in ("*", account, f"arn:aws:iam::{account}:root") for name in names)


def _judgeable(condition: dict[str, Any], incoming: dict[str, str] | None) -> bool:
    from moto.iam.policy_conditions import CONDITION_OPERATIONS

    return all(
        operator in CONDITION_OPERATIONS and all(key in (incoming or {}) for key in values)
        for operator, values in condition.items()
    )


inline_policies = Correction(
    "IAM inline policies",
    Kind.FIX,
    "CloudFormation stores a role's inline policy as the template's JSON object, where moto's policy evaluation "
    "expects the document's text, and fails (HTTP 500) on every request the role signs. Both are read now.",
)


@inline_policies.replaces(f"{_ACCESS_CONTROL}:IAMPolicy.__init__", params=["self", "policy"])
def read_either_document(original: Any, self: Any, policy: Any) -> None:
    if isinstance(policy, dict) and "Statement" in policy:
        policy = json.dumps(policy)
    original(self, policy)


CORRECTIONS = (signature_once, scoped_resources, refusals_in_json, allow_statements, inline_policies)
