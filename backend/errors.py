"""Errors a person can act on, translated from boto3/botocore failures."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
)

P = ParamSpec("P")
R = TypeVar("R")


class BackendError(Exception):
    """A failure talking to AWS, with a message that says what to do."""


class NotFound(BackendError):
    """The thing asked for does not exist."""


def explain(error: Exception) -> str:
    """A one-paragraph explanation of an AWS failure for a person."""
    if isinstance(error, NoCredentialsError):
        return "No AWS credentials found. Set AWS_PROFILE or AWS access keys, or unset ORDERS_* to use the local AWS."
    if isinstance(error, NoRegionError):
        return "No AWS region set. Set AWS_REGION (for example eu-west-1)."
    if isinstance(error, ProfileNotFound):
        return f"{error}. Check AWS_PROFILE."
    if isinstance(error, EndpointConnectionError):
        return f"Cannot reach {error.kwargs.get('endpoint_url', 'the AWS endpoint')}: check the region and network."
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        operation = error.operation_name
        if code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}:
            action = re.search(r"perform: (\S+)", message)
            missing = action.group(1) if action else operation
            return f"Access denied: the role needs permission {missing}. ({message})"
        if code in {
            "UnrecognizedClientException",
            "InvalidClientTokenId",
            "ExpiredToken",
            "ExpiredTokenException",
        }:
            return f"The AWS credentials were rejected ({code}): refresh them or check AWS_PROFILE."
        return f"{operation} failed: {code}: {message}"
    return str(error)


def translated(function: Callable[P, R]) -> Callable[P, R]:
    """Re-raise botocore failures of function as BackendError with an explanation."""

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code", "").endswith(
                ("NotFound", "DoesNotExist", "NonExistentQueue")
            ):
                raise NotFound(explain(exc)) from exc
            raise BackendError(explain(exc)) from exc

    return wrapper
