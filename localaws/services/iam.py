"""IAM as AWS enforces it: moto's access control switched on, the instance's own principal, role sessions for the
functions, and the corrections that let moto judge a scoped policy.

moto checks every request's signature and evaluates the caller's policies (`INITIAL_NO_AUTH_ACTION_COUNT`), but it
judges most services' actions against the resource "*", so a policy scoped to a table or a topic never allows
anything; it answers a JSON service's refusal in XML; it turns an Allow statement whose condition it cannot judge
into an explicit Deny; and it cannot read the inline policies CloudFormation gives a role. Those are corrected here.
Limits that remain are in the README ("Limits against AWS", IAM).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import json
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote

from localaws.config import ACCOUNT_ID
from localaws.credentials import ADMIN_USER, Credentials
from localaws.services._patching import fail, is_ours, mark, require_params

_ADMIN_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
ROLE_SESSION_SECONDS = 12 * 3600  # STS's longest role session; a worker lives shorter than that
_FUNCTION_PATH = re.compile(r"^/[^/]+/functions/(?P<name>[^/]+)")
# CloudWatch Logs actions authorised on a log stream (the rest on the log group, "log-group:<name>:*").
_STREAM_ACTIONS = {"PutLogEvents", "GetLogEvents", "DeleteLogStream"}
_TAG_ACTIONS = {"TagResource", "UntagResource", "ListTagsForResource"}


def enforce() -> None:
    """Check every later request's signature and policies (moto's setting is read on each request)."""
    settings = importlib.import_module("moto.settings")
    mixin = importlib.import_module("moto.core.authorization").ActionAuthenticatorMixin
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    mixin.request_count = 0


def register_admin(credentials: Credentials) -> None:
    """Make the instance's own credentials an IAM user allowed everything (idempotent; moto's reset forgets it)."""
    from moto.iam.models import iam_backends

    backend = iam_backends[ACCOUNT_ID]["aws"]
    if ADMIN_USER not in backend.users:
        backend.create_user(region_name="us-east-1", user_name=ADMIN_USER, path="/", tags=[])
        backend.put_user_policy(ADMIN_USER, "administrator", _ADMIN_POLICY)
    user = backend.users[ADMIN_USER]
    if not any(key.access_key_id == credentials.access_key_id for key in user.access_keys):
        key = backend.create_access_key(ADMIN_USER)
        key.access_key_id = credentials.access_key_id
        key.secret_access_key = credentials.secret_access_key


class RoleSessions:
    """Temporary credentials for an execution role, as Lambda gets them through sts:AssumeRole: one session per role,
    renewed before it ends."""

    def __init__(self) -> None:
        self._sessions: dict[str, tuple[float, Credentials]] = {}
        self._lock = threading.Lock()

    def credentials(self, role_arn: str, session_name: str) -> Credentials:
        """The role's current session credentials (AccessDenied-free: the trust policy is the template's)."""
        import time

        from moto.sts.models import sts_backends

        with self._lock:
            held = self._sessions.get(role_arn)
            if held and held[0] - time.time() > ROLE_SESSION_SECONDS / 2:
                return held[1]
            session = sts_backends[ACCOUNT_ID]["aws"].assume_role(
                region_name="us-east-1", role_session_name=session_name, role_arn=role_arn, policy=None,
                duration=ROLE_SESSION_SECONDS, external_id=None,
            )  # fmt: skip
            credentials = Credentials(
                access_key_id=session.access_key_id,
                secret_access_key=session.secret_access_key,
                session_token=session.session_token,
            )
            self._sessions[role_arn] = (time.time() + ROLE_SESSION_SECONDS, credentials)
            return credentials


def missing_permission(role_arn: str, actions: tuple[str, ...], resource: str) -> str | None:
    """The first action ("sqs:ReceiveMessage") the role's own policies do not allow on the resource, as moto's access
    control judges them; None when all are allowed, or while IAM is not enforced."""
    from moto import settings
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.iam.models import iam_backends

    if settings.INITIAL_NO_AUTH_ACTION_COUNT != 0:
        return None
    role = iam_backends[ACCOUNT_ID]["aws"].get_role_by_arn(role_arn)
    policies: list[Any] = list(role.policies.values()) + list(role.managed_policies.values())
    for action in actions:
        results = [IAMPolicy(policy).is_action_permitted(action, resource) for policy in policies]
        if PermissionResult.DENIED in results or PermissionResult.PERMITTED not in results:
            return action
    return None


# ---------------------------------------------------------------- which resource a request acts on


def _dynamodb(response: Any) -> list[str]:
    def arn(table: str) -> str:
        return table if table.startswith("arn:") else f"arn:aws:dynamodb:{response.region}:{ACCOUNT_ID}:table/{table}"

    items = response._get_param("RequestItems") or {}
    transact = response._get_param("TransactItems") or []
    if items:
        return [arn(table) for table in items]
    if transact:
        return [arn(next(iter(item.values()))["TableName"]) for item in transact if item]
    table = response._get_param("TableName")
    if not table:
        return []
    index = response._get_param("IndexName")
    return [arn(table) + (f"/index/{index}" if index else "")]


def _stepfunctions(response: Any) -> list[str]:
    for key in ("executionArn", "stateMachineArn", "activityArn", "mapRunArn"):
        value = response._get_param(key)
        if value:
            return [value]
    name = response._get_param("name")
    if name and response._get_action() == "CreateStateMachine":
        return [f"arn:aws:states:{response.region}:{ACCOUNT_ID}:stateMachine:{name}"]
    return []


def _sns(response: Any) -> list[str]:
    for key in ("TopicArn", "TargetArn", "ResourceArn"):
        value = response._get_param(key)
        if value:
            return [value]
    subscription = response._get_param("SubscriptionArn")
    if subscription:
        return [subscription.rsplit(":", 1)[0]]
    name = response._get_param("Name")
    if name and response._get_action() == "CreateTopic":
        return [f"arn:aws:sns:{response.region}:{ACCOUNT_ID}:{name}"]
    return []


def _logs(response: Any) -> list[str]:
    group = response._get_param("logGroupName") or response._get_param("logGroupIdentifier")
    if not group:
        return []
    if group.startswith("arn:"):
        group = group.split(":log-group:", 1)[1].removesuffix(":*")
    base = f"arn:aws:logs:{response.region}:{ACCOUNT_ID}:log-group:{group}"
    action, stream = response._get_action(), response._get_param("logStreamName")
    if action in _STREAM_ACTIONS and stream:
        return [f"{base}:log-stream:{stream}"]
    # AWS's rule: IAM policies name a log group with a trailing ":*", except for the tagging actions.
    return [base if action in _TAG_ACTIONS else f"{base}:*"]


def _awslambda(response: Any) -> list[str]:
    match = _FUNCTION_PATH.match(response.path)
    if not match:
        return []
    name = unquote(match["name"])
    if name.startswith("arn:"):
        return [":".join(name.split(":")[:7])]
    return [f"arn:aws:lambda:{response.region}:{ACCOUNT_ID}:function:{name.split(':')[0]}"]


_RESOURCES: dict[str, Callable[[Any], list[str]]] = {
    "dynamodb": _dynamodb,
    "stepfunctions": _stepfunctions,
    "sns": _sns,
    "logs": _logs,
    "awslambda": _awslambda,
}


def scoped_resources() -> None:
    """moto judges every action of DynamoDB, Step Functions, SNS, Logs and Lambda against the resource "*", so a
    policy naming a table, state machine, topic, log group or function (as the template's roles do) allows nothing.
    The request's resources are named as AWS's service authorization reference names them, and each is judged (a
    BatchWriteItem over two tables needs both)."""
    correction = "IAM resources"
    mixin = importlib.import_module("moto.core.authorization").ActionAuthenticatorMixin
    original = mixin.__dict__["_authenticate_and_authorize_normal_action"]
    if is_ours(original):
        return
    require_params(correction, original, ["self", "resource"])

    @functools.wraps(original)
    def _authenticate_and_authorize_normal_action(self: Any, resource: str = "*") -> None:
        resolve = _RESOURCES.get(getattr(self, "service_name", "") or "")
        resources = resolve(self) if resolve and resource == "*" else []
        for each in resources or [resource]:
            original(self, each)

    mixin._authenticate_and_authorize_normal_action = mark(_authenticate_and_authorize_normal_action)


_checked = threading.local()  # the signature the endpoint verified for the request this thread is answering


@contextlib.contextmanager
def signature_checked(signature: str) -> Iterator[None]:
    """While this thread answers a request whose signature the endpoint verified, moto need not verify it again."""
    _checked.signature = signature
    try:
        yield
    finally:
        _checked.signature = None


def checked_signatures_once() -> None:
    """moto verifies each request's signature again after the endpoint did, rebuilding the request from what its
    parser kept; for Lambda's GET requests it signs the headers as if they were a form body, and refuses every
    correctly signed ListFunctions or GetFunction. A signature the endpoint verified, on the thread answering that
    very request, is taken as verified; in-process callers (other threads) are still checked by moto."""
    correction = "IAM signature checked once"
    request_cls = importlib.import_module("moto.iam.access_control").IAMRequestBase
    original = request_cls.__dict__["check_signature"]
    if is_ours(original):
        return
    require_params(correction, original, ["self"])

    @functools.wraps(original)
    def check_signature(self: Any) -> None:
        signature = self._get_string_between("Signature=", ",", self._headers["Authorization"])
        if signature and signature == getattr(_checked, "signature", None):
            return
        original(self)

    request_cls.check_signature = mark(check_signature)


def _speaks_json(response: Any) -> bool:
    content_type = response.headers.get("Content-Type") or ""
    return bool(response.headers.get("X-Amz-Target")) or "json" in content_type or response.service_name == "awslambda"


# moto's XML codes and the codes AWS's JSON protocols use for the same refusal.
_JSON_CODES = {
    "AccessDenied": "AccessDeniedException",
    "InvalidClientTokenId": "UnrecognizedClientException",
    "SignatureDoesNotMatch": "InvalidSignatureException",
}


def refusals_in_json() -> None:
    """moto answers an access-control refusal in XML whatever the protocol, so an SDK talking JSON (DynamoDB, SQS,
    Step Functions, Logs, CloudWatch, Lambda) sees an unparseable 403. It is now answered as AWS's JSON protocols
    answer it (AccessDeniedException, ...), naming the resource as AWS does."""
    correction = "IAM refusals in JSON"
    mixin = importlib.import_module("moto.core.authorization").ActionAuthenticatorMixin
    exceptions = importlib.import_module("moto.core.exceptions")
    original = mixin.__dict__["_authenticate_and_authorize_action"]
    if is_ours(original):
        return
    require_params(correction, original, ["self", "iam_request_cls", "resource"])

    @functools.wraps(original)
    def _authenticate_and_authorize_action(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        try:
            original(self, iam_request_cls, resource)
        except exceptions.HTTPException as refused:
            code = getattr(refused, "error_type", "")
            if code not in _JSON_CODES or not _speaks_json(self):
                raise
            message = refused.message if code != "AccessDenied" else _denied_message(refused.message, resource)
            json_error = exceptions.JsonRESTError(_JSON_CODES[code], message)
            json_error.code = 403 if self.service_name == "awslambda" else 400
            raise json_error from refused

    mixin._authenticate_and_authorize_action = mark(_authenticate_and_authorize_action)


def _denied_message(message: str, resource: str) -> str:
    action = message.rsplit("perform: ", 1)[-1]
    return f"{message} on resource: {resource} because no identity-based policy allows the {action} action"


def allow_statements_never_deny() -> None:
    """moto's evaluation of one statement errs both ways. It ignores a condition it cannot judge (an operator other
    than StringEquals, or a key the request does not carry), so a conditional Allow allows: on AWS a condition on a
    missing key is false and the Allow does not apply. It turns an Allow whose condition or principal does not match
    into an explicit Deny that overrides every other Allow, and fails (HTTP 500) on a trust policy naming a service
    principal. An Allow now either applies or does not (failing closed when moto cannot judge it); a Deny is
    unchanged, so a Deny with a condition still denies."""
    correction = "IAM Allow statements"
    access_control = importlib.import_module("moto.iam.access_control")
    conditions = importlib.import_module("moto.iam.policy_conditions")
    statement_cls = access_control.IAMPolicyStatement
    original = statement_cls.__dict__["is_action_permitted"]
    if is_ours(original):
        return
    require_params(correction, original, ["self", "action", "resource", "principal", "incoming_condition_values"])
    if "_check_conditions" not in inspect.getsource(original) or not isinstance(
        getattr(conditions, "CONDITION_OPERATIONS", None), dict
    ):
        raise fail(correction, "IAMPolicyStatement no longer checks conditions with CONDITION_OPERATIONS")
    result = access_control.PermissionResult

    def judgeable(condition: dict[str, Any], incoming: dict[str, str] | None) -> bool:
        return all(
            operator in conditions.CONDITION_OPERATIONS and all(key in (incoming or {}) for key in values)
            for operator, values in condition.items()
        )

    @functools.wraps(original)
    def is_action_permitted(
        self: Any,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> Any:
        if self._statement.get("Effect") != "Allow":
            return original(self, action, resource, principal, incoming_condition_values)
        named = self._statement.get("Principal")
        if principal and isinstance(named, dict) and "AWS" not in named:
            return result.NEUTRAL  # a service principal ("lambda.amazonaws.com") is never an IAM caller
        condition = self._statement.get("Condition")
        if condition and not judgeable(condition, incoming_condition_values):
            return result.NEUTRAL
        verdict = original(self, action, resource, principal, incoming_condition_values)
        return result.NEUTRAL if verdict is result.DENIED else verdict

    statement_cls.is_action_permitted = mark(is_action_permitted)


def inline_policy_documents() -> None:
    """CloudFormation stores a role's inline policy as the template's JSON object, where moto's policy evaluation
    expects the document's text, and fails (HTTP 500) on every request the role signs. Both are read now."""
    correction = "IAM inline policies"
    policy_cls = importlib.import_module("moto.iam.access_control").IAMPolicy
    original = policy_cls.__dict__["__init__"]
    if is_ours(original):
        return
    require_params(correction, original, ["self", "policy"])

    @functools.wraps(original)
    def __init__(self: Any, policy: Any) -> None:
        if isinstance(policy, dict) and "Statement" in policy:
            policy = json.dumps(policy)
        original(self, policy)

    policy_cls.__init__ = mark(__init__)


CORRECTIONS = (
    ("IAM signature checked once", checked_signatures_once),
    ("IAM resources", scoped_resources),
    ("IAM refusals in JSON", refusals_in_json),
    ("IAM Allow statements", allow_statements_never_deny),
    ("IAM inline policies", inline_policy_documents),
)
