"""The resources a request acts on, named as AWS's service authorization reference names them: moto judges every
action of DynamoDB, Step Functions, SNS, Logs and Lambda against "*"."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from localaws.config import ACCOUNT_ID

_FUNCTION_PATH = re.compile(r"^/[^/]+/functions/(?P<name>[^/]+)")
# CloudWatch Logs actions authorised on a log stream (the rest on the log group, "log-group:<name>:*").
_STREAM_ACTIONS = {"PutLogEvents", "GetLogEvents", "DeleteLogStream"}
_TAG_ACTIONS = {"TagResource", "UntagResource", "ListTagsForResource"}


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


RESOLVERS: dict[str, Callable[[Any], list[str]]] = {
    "dynamodb": _dynamodb,
    "stepfunctions": _stepfunctions,
    "sns": _sns,
    "logs": _logs,
    "awslambda": _awslambda,
}


def of(response: Any) -> list[str]:
    """The ARNs a moto request acts on (none when its service is judged on "*" or names no resource)."""
    resolve = RESOLVERS.get(getattr(response, "service_name", "") or "")
    return resolve(response) if resolve else []
