"""Fault injection, modelled on LocalStack's Chaos API: rules that make matching AWS calls fail with a chosen error.

    GET    /_localaws/chaos/faults    the rules
    POST   /_localaws/chaos/faults    replace them with the JSON list in the body ([] removes every rule)
    PATCH  /_localaws/chaos/faults    add the rules in the body
    DELETE /_localaws/chaos/faults    remove the rules in the body (compared field by field)

A rule: {"service": "lambda", "operation": "Invoke", "region": "us-east-1", "function": "orders-local-start-order",
"probability": 0.05, "error": {"code": "ServiceException", "statusCode": 500}}; every field is optional (a missing
one matches anything; probability defaults to 1, the error to ServiceUnavailable, 503). `function` narrows Lambda
Invoke to one function.
Every call through the endpoint is checked, and so are the Invokes the endpoint does not see: Step Functions' Task
states (answered in-process) and the SQS event sources (they call the runtime). Rules live in memory: a restart
starts with none. Only the instance's own credentials may read or change them (`set_rules` signs with them).
"""

from __future__ import annotations

import json
import random
import threading
from typing import Any
from urllib.parse import parse_qs

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from localaws import protocol
from localaws.http import HttpRequest, HttpResponse
from localaws.protocol import Protocol, credential_scope

PATH = "/_localaws/chaos/faults"


class FaultError(BaseModel):
    """The error a matching call answers with."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    code: str = Field(default="ServiceUnavailable", min_length=1, max_length=128)
    status_code: int = Field(default=503, ge=400, le=599, alias="statusCode")
    message: str = Field(default="Injected fault (local AWS chaos rule)", max_length=1024)


class FaultRule(BaseModel):
    """Which calls fail, how often, and with what."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    service: str | None = None  # the signing name: lambda, sqs, states, dynamodb, ...
    operation: str | None = None
    region: str | None = None
    function: str | None = None  # Lambda Invoke only: the function's name
    probability: float = Field(default=1.0, ge=0, le=1)
    error: FaultError = FaultError()

    def matches(self, service: str, operation: str | None, region: str, function: str | None) -> bool:
        return (
            self.service in (None, service)
            and self.operation in (None, operation)
            and self.region in (None, region)
            and self.function in (None, function)
        )


_RULES = TypeAdapter(list[FaultRule])


def function_name(name_or_arn: str) -> str:
    """A Lambda function's name from its name, partial or full ARN (with or without a qualifier)."""
    return name_or_arn.split(":function:")[-1].split(":")[0] if ":" in name_or_arn else name_or_arn


class Faults:
    """The rules in force, and the draw that decides whether a call fails."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._rng = rng or random.Random()

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def replace(self, rules: list[FaultRule]) -> None:
        with self._lock:
            self._rules = list(rules)

    def add(self, rules: list[FaultRule]) -> None:
        with self._lock:
            self._rules += rules

    def remove(self, rules: list[FaultRule]) -> None:
        with self._lock:
            self._rules = [rule for rule in self._rules if rule not in rules]

    def fault_for(
        self, service: str, operation: str | None, region: str, function: str | None = None
    ) -> FaultError | None:
        """The error this call fails with, or None: the first matching rule decides, by its probability."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(service, operation, region, function):
                    return rule.error if self._rng.random() < rule.probability else None
        return None

    def route(self, request: HttpRequest) -> HttpResponse | None:
        """The endpoint's route: the control API, or an injected error for a matching call, else None."""
        if request.path.rstrip("/") == PATH:
            if request.principal is None or not request.principal.admin:
                return _control_error(403, "Only the local AWS's own credentials may read or change its chaos rules.")
            return self._control(request)
        scope = credential_scope(request)
        if not scope or not self._rules:
            return None
        fault = self.fault_for(scope["service"], _operation(request), scope["region"])
        return error_response(fault, protocol.protocol_of(request)) if fault else None

    def _control(self, request: HttpRequest) -> HttpResponse:
        change = {"POST": self.replace, "PATCH": self.add, "DELETE": self.remove}.get(request.method)
        if change is None and request.method != "GET":
            return _control_error(405, f"{request.method} is not supported: GET, POST, PATCH or DELETE")
        if change is not None:
            try:
                change(_RULES.validate_json(request.body or b"[]"))
            except ValidationError as exc:
                return _control_error(400, f"invalid fault rules: {exc.errors(include_url=False, include_input=False)}")
        body = _RULES.dump_json(self.rules, by_alias=True, exclude_none=True)
        return 200, {"Content-Type": "application/json"}, body


def _control_error(status: int, message: str) -> HttpResponse:
    return status, {"Content-Type": "application/json"}, json.dumps({"message": message}, default=str).encode()


def _operation(request: HttpRequest) -> str | None:
    """The API operation of a JSON (X-Amz-Target) or query (Action=) request; None for REST APIs."""
    target = request.headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    action = parse_qs(request.query).get("Action")
    if not action and "x-www-form-urlencoded" in request.headers.get("Content-Type", ""):
        action = parse_qs(request.body.decode(errors="replace")).get("Action")
    return action[0] if action else None


def error_response(fault: FaultError, speaks: Protocol = Protocol.REST_JSON) -> HttpResponse:
    """The error as the service's protocol carries it, so the SDK raises it by its code."""
    return protocol.error_in(speaks, fault.status_code, fault.code, fault.message)


def set_rules(endpoint: str, rules: list[dict[str, Any]], region: str = "us-east-1") -> list[dict[str, Any]]:
    """Replace the rules of the local AWS at endpoint (signed with its own credentials); return them as it lists
    them."""
    from localaws import client

    answer = client.signed_call(endpoint, "POST", PATH, json.dumps(rules).encode(), region)
    return json.loads(answer)
