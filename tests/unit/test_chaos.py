"""The local AWS's fault rules (localaws.chaos): matching, probability, the control API and the errors' shape."""

from __future__ import annotations

import json
import random
from email.message import Message

import pytest

from localaws.chaos import PATH, FaultRule, Faults, function_name
from localaws.http import HttpRequest
from localaws.principal import Principal

SQS_AUTH = "AWS4-HMAC-SHA256 Credential=local/20261127/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=x"


INSTANCE = Principal(access_key_id="AKIAINSTANCE00000000", admin=True, signature="s", iam_request=None)
OTHER = Principal(access_key_id="ASIAFUNCTIONROLE0000", admin=False, signature="s", iam_request=None)


def request(
    method: str = "POST", path: str = "/", body: bytes = b"", principal: Principal | None = INSTANCE, **headers: str
) -> HttpRequest:
    message = Message()
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    return HttpRequest(method, path, "", message, body, principal)


def control(faults: Faults, method: str, rules: list[dict] | None = None) -> tuple[int, list[dict]]:
    status, _, body = faults.route(request(method, PATH, json.dumps(rules).encode() if rules is not None else b""))
    return status, json.loads(body)


@pytest.mark.parametrize("principal", [OTHER, None], ids=["another principal", "none"])
def test_only_the_instances_own_credentials_read_or_change_the_rules(principal: Principal | None) -> None:
    faults = Faults()
    faults.replace([FaultRule(service="sqs")])
    for method in ("GET", "POST"):
        status, _, body = faults.route(request(method, PATH, b"[]", principal=principal))  # type: ignore[misc]
        assert status == 403
        assert "own credentials" in json.loads(body)["message"]
    assert faults.rules == [FaultRule(service="sqs")]


def test_a_rule_matches_on_every_field_it_names_and_anything_on_the_others() -> None:
    rule = FaultRule(service="lambda", operation="Invoke", function="orders-local-start-order")
    assert rule.matches("lambda", "Invoke", "us-east-1", "orders-local-start-order")
    assert not rule.matches("lambda", "Invoke", "us-east-1", "orders-local-validate-order")
    assert not rule.matches("sqs", "Invoke", "us-east-1", "orders-local-start-order")
    assert FaultRule().matches("dynamodb", None, "eu-west-1", None)


def test_the_first_matching_rule_decides_by_its_probability() -> None:
    faults = Faults(random.Random(1))
    faults.replace([FaultRule(service="lambda", function="quiet", probability=0), FaultRule(service="lambda")])
    assert faults.fault_for("lambda", "Invoke", "us-east-1", "quiet") is None  # never, though the next would
    assert faults.fault_for("lambda", "Invoke", "us-east-1", "other") is not None
    faults.replace([FaultRule(probability=0.25)])
    failed = sum(faults.fault_for("sqs", "SendMessage", "us-east-1") is not None for _ in range(4000))
    assert 850 < failed < 1150


def test_the_control_api_replaces_adds_removes_and_lists_rules() -> None:
    faults = Faults()
    first = {"service": "sqs", "probability": 0.5, "error": {"code": "Throttling", "statusCode": 400}}
    second = {"service": "lambda", "operation": "Invoke", "function": "f"}
    assert control(faults, "POST", [first]) == (
        200,
        [first | {"error": first["error"] | {"message": "Injected fault (local AWS chaos rule)"}}],
    )
    status, listed = control(faults, "PATCH", [second])
    assert (status, [rule.get("service") for rule in listed]) == (200, ["sqs", "lambda"])
    assert listed[1]["probability"] == 1.0
    assert listed[1]["error"]["code"] == "ServiceUnavailable"
    assert [rule["service"] for rule in control(faults, "DELETE", [first])[1]] == ["lambda"]
    assert control(faults, "GET")[1] == listed[1:]
    assert control(faults, "POST", []) == (200, [])


@pytest.mark.parametrize(
    ("method", "body", "status"),
    [("POST", b'[{"probability": 2}]', 400), ("POST", b'[{"servise": "sqs"}]', 400), ("PUT", b"[]", 405)],
)
def test_the_control_api_refuses_what_it_cannot_apply(method: str, body: bytes, status: int) -> None:
    faults = Faults()
    faults.replace([FaultRule(service="sqs")])
    answer = faults.route(request(method, PATH, body))
    assert answer is not None
    assert answer[0] == status
    assert "message" in json.loads(answer[2])
    assert faults.rules == [FaultRule(service="sqs")]  # unchanged


def test_a_matching_call_gets_the_error_in_its_protocol_and_others_pass() -> None:
    faults = Faults()
    faults.replace([FaultRule(service="sqs", operation="SendMessage", error={"code": "QueueBusy", "statusCode": 503})])
    json_call = request(Authorization=SQS_AUTH, X_Amz_Target="AmazonSQS.SendMessage")
    status, headers, body = faults.route(json_call)  # type: ignore[misc]
    assert (status, headers["x-amzn-ErrorType"], json.loads(body)["__type"]) == (503, "QueueBusy", "QueueBusy")
    query_call = request(body=b"Action=SendMessage&QueueUrl=q", Authorization=SQS_AUTH,
                         Content_Type="application/x-www-form-urlencoded")  # fmt: skip
    status, _, body = faults.route(query_call)  # type: ignore[misc]
    assert status == 503
    assert b"<Code>QueueBusy</Code>" in body
    assert faults.route(request(Authorization=SQS_AUTH, X_Amz_Target="AmazonSQS.ReceiveMessage")) is None
    assert faults.route(request(X_Amz_Target="AmazonSQS.SendMessage")) is None  # unsigned: not an AWS call


def test_a_function_is_named_the_same_from_its_name_or_arn() -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:orders-local-start-order"
    assert {function_name(arn), function_name(f"{arn}:$LATEST"), function_name("orders-local-start-order")} == {
        "orders-local-start-order"
    }
