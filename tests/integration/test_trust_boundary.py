"""The local endpoint as a trust boundary: only requests signed with credentials it knows get in, each answered as
AWS answers by protocol; browsers, foreign hosts and moto's own API are refused; names are checked as AWS checks them;
and IAM is enforced: each function runs with its execution role's credentials and the template's policies."""

from __future__ import annotations

import datetime
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from backend import aws
from localaws import instance
from tests.integration.conftest import LAMBDA_TRUST

WRONG_SECRET = "w" * 40
UNKNOWN_KEY = "AKIAUNKNOWNUNKNOWN00"
# One read-only operation per protocol: (service, operation, parameters).
PROTOCOLS = {
    "json": ("dynamodb", "list_tables", {}),
    "json (SQS)": ("sqs", "list_queues", {}),
    "query": ("sns", "list_topics", {}),
    "rest-json": ("lambda", "list_functions", {}),
    "rest-xml": ("s3", "list_buckets", {}),
}
# AWS's codes for an unknown key, a wrong signature and no signature, by protocol.
REFUSALS = {
    "json": ("UnrecognizedClientException", "InvalidSignatureException", "MissingAuthenticationTokenException"),
    "json (SQS)": ("UnrecognizedClientException", "InvalidSignatureException", "MissingAuthenticationTokenException"),
    "query": ("InvalidClientTokenId", "SignatureDoesNotMatch", "MissingAuthenticationToken"),
    "rest-json": ("UnrecognizedClientException", "InvalidSignatureException", "MissingAuthenticationTokenException"),
    "rest-xml": ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"),
}


def client(
    service: str, key: str | None = None, secret: str | None = None, token: str | None = None, **config: Any
) -> Any:
    """A client of the session's local AWS, with its own credentials unless told otherwise; no retries."""
    own = instance.credentials()
    connection = aws.connection()
    return boto3.client(
        service,
        endpoint_url=connection.endpoint_url,
        region_name=connection.region,
        aws_access_key_id=key or own.access_key_id,
        aws_secret_access_key=secret or own.secret_access_key,
        aws_session_token=token,
        config=Config(retries={"max_attempts": 0}, **config),
    )


def error_code(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    return str(raised.value.response["Error"]["Code"])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_only_requests_signed_with_known_credentials_get_in(local_aws: Any, protocol: str) -> None:
    service, operation, parameters = PROTOCOLS[protocol]
    unknown, wrong, missing = REFUSALS[protocol]
    getattr(client(service), operation)(**parameters)  # its own credentials: in
    assert error_code(lambda: getattr(client(service, key=UNKNOWN_KEY), operation)(**parameters)) == unknown
    assert error_code(lambda: getattr(client(service, secret=WRONG_SECRET), operation)(**parameters)) == wrong
    unsigned = client(service, signature_version=UNSIGNED)
    assert error_code(lambda: getattr(unsigned, operation)(**parameters)) == missing


def raw(method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> tuple[int, dict, str]:
    """A plain HTTP request to the endpoint, as a browser or any other program could make it."""
    url = f"{aws.connection().endpoint_url}{path}"
    request = urllib.request.Request(url, data=body or None, headers=headers or {}, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - the local endpoint
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), refused.read().decode()


def signed_headers(method: str, path: str, body: bytes, host: str, extra: dict[str, str]) -> dict[str, str]:
    """Headers of a request signed with the instance's own credentials for the given Host."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    own = instance.credentials()
    request = AWSRequest(method, f"http://{host}{path}", data=body, headers=extra)
    SigV4Auth(Credentials(own.access_key_id, own.secret_access_key), "dynamodb", "us-east-1").add_auth(request)
    return dict(request.headers.items())


LIST_TABLES = {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"}


def test_a_browsers_request_is_refused_even_when_signed(local_aws: Any) -> None:
    endpoint_host = aws.connection().endpoint_url.removeprefix("http://")  # type: ignore[union-attr]
    headers = signed_headers("POST", "/", b"{}", endpoint_host, LIST_TABLES)
    assert raw("POST", "/", headers, b"{}")[0] == 200
    status, answer_headers, body = raw("POST", "/", headers | {"Origin": "https://example.com"}, b"{}")
    assert status == 403
    assert "Origin https://example.com" in json.loads(body)["message"]
    # A preflight gets no CORS permission: moto's global CORS is off.
    preflight = {"Origin": "https://example.com", "Access-Control-Request-Method": "POST"}
    status, answer_headers, _ = raw("OPTIONS", "/", preflight)
    assert status == 403
    assert not any(name.lower().startswith("access-control-") for name in answer_headers)


def test_a_host_that_is_not_the_endpoint_is_refused(local_aws: Any) -> None:
    port = aws.connection().endpoint_url.rsplit(":", 1)[1]  # type: ignore[union-attr]
    for host in (f"rebind.example:{port}", f"127.0.0.1:{int(port) + 1}"):
        headers = signed_headers("POST", "/", b"{}", host, LIST_TABLES) | {"Host": host}
        status, _, body = raw("POST", "/", headers, b"{}")
        assert status == 403, host
        assert "is not the address this local AWS serves" in json.loads(body)["message"]
    headers = signed_headers("POST", "/", b"{}", f"localhost:{port}", LIST_TABLES) | {"Host": f"localhost:{port}"}
    assert raw("POST", "/", headers, b"{}")[0] == 200  # the loopback name reaches it too


@pytest.mark.parametrize("path", ["/moto-api/reset", "/moto-api/data.json", "/moto-api/reset-auth"])
def test_motos_own_api_is_not_served(local_aws: Any, path: str) -> None:
    endpoint_host = aws.connection().endpoint_url.removeprefix("http://")  # type: ignore[union-attr]
    signed = signed_headers("POST", path, b"", endpoint_host, {})
    for headers in ({}, signed):
        status, _, body = raw("POST", path, headers)
        assert status == 403
        assert "moto's own API is not served" in body
    assert aws.client("cloudformation").describe_stacks(StackName=aws.connection().stack_name)["Stacks"]


def test_a_signature_older_than_fifteen_minutes_is_refused(local_aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import botocore.auth

    signed_at = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=16)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: signed_at.replace(tzinfo=None))
    endpoint_host = aws.connection().endpoint_url.removeprefix("http://")  # type: ignore[union-attr]
    status, _, body = raw("POST", "/", signed_headers("POST", "/", b"{}", endpoint_host, LIST_TABLES), b"{}")
    assert (status, json.loads(body)["__type"]) == (400, "InvalidSignatureException")
    assert "Signature expired" in json.loads(body)["message"]


@pytest.mark.parametrize(
    ("service", "create", "code"),
    [
        ("lambda", lambda api, role: api.create_function(
            FunctionName="../../escape", Runtime="python3.13", Role=role, Handler="h.handler",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18}), "ValidationException"),
        ("lambda", lambda api, role: api.create_function(
            FunctionName="a" * 65, Runtime="python3.13", Role=role, Handler="h.handler",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18}), "ValidationException"),
        ("sqs", lambda api, role: api.create_queue(QueueName="../escape"), "InvalidParameterValue"),
        ("stepfunctions", lambda api, role: api.create_state_machine(
            name="a/b", definition='{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}', roleArn=role),
         "InvalidName"),
        ("dynamodb", lambda api, role: api.create_table(
            TableName="../escape", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST"),
         "ValidationException"),
    ],
    ids=["function path", "function length", "queue", "state machine", "table"],
)  # fmt: skip
def test_names_are_checked_as_aws_checks_them(
    local_aws: Any, test_role: str, service: str, create: Any, code: str
) -> None:
    assert error_code(lambda: create(client(service), test_role)) == code
    code_root = instance.state_dir() / "lambda"
    assert not list(instance.state_dir().parent.glob("escape*")), "a name reached a path outside the state folder"
    assert all(path.resolve().is_relative_to(code_root.resolve()) for path in code_root.rglob("*"))


@pytest.mark.parametrize(
    ("name", "code"),
    [("a/b", "InvalidName"), ("a b", "InvalidName"), ("tab\there", "InvalidName"), ("x" * 81, "ValidationException")],
)
def test_execution_names_are_checked_and_an_unnamed_execution_gets_a_uuid(local_aws: Any, name: str, code: str) -> None:
    sfn, machine = client("stepfunctions"), aws.resources().state_machine_arn
    assert error_code(lambda: sfn.start_execution(stateMachineArn=machine, name=name, input="{}")) == code
    first, second = (sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"] for _ in range(2))
    assert first != second
    assert len(first.rsplit(":", 1)[1]) == 36  # a UUID, as Step Functions names it


def function_call(make_function: Any, role: str, service: str, operation: str, parameters: dict[str, Any]) -> Any:
    """What a function running with the given execution role gets back from one AWS call."""
    name = make_function("call_aws", timeout=10, role=role)
    answer = client("lambda").invoke(
        FunctionName=name, Payload=json.dumps({"service": service, "operation": operation, "parameters": parameters})
    )
    return json.loads(answer["Payload"].read())


def test_a_function_runs_with_its_roles_credentials_and_its_policies_are_enforced(
    local_aws: Any, make_function: Any
) -> None:
    iam = client("iam")
    role = iam.create_role(RoleName="writes-one-table", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]
    table = aws.resources().payments_table_name
    table_arn = client("dynamodb").describe_table(TableName=table)["Table"]["TableArn"]
    put = {"TableName": table, "Item": {"id": {"S": "iam-test"}}}
    denied = function_call(make_function, role["Arn"], "dynamodb", "put_item", put)
    assert denied["error"] == "AccessDeniedException"
    assert "dynamodb:PutItem" in denied["message"]
    assert table_arn in denied["message"]
    allow = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": table_arn}],
    }
    iam.put_role_policy(RoleName="writes-one-table", PolicyName="put", PolicyDocument=json.dumps(allow))
    allowed = function_call(make_function, role["Arn"], "dynamodb", "put_item", put)
    assert allowed == {"error": None, "key": "ASIA"}  # temporary credentials of a role session, as Lambda's
    other = {"TableName": aws.resources().queued_orders_table_name, "Item": put["Item"]}
    assert function_call(make_function, role["Arn"], "dynamodb", "put_item", other)["error"] == "AccessDeniedException"


def stack_role_arn(logical_id: str) -> str:
    """The ARN of a role the deployed stack created."""
    resources = client("cloudformation").list_stack_resources(StackName=aws.connection().stack_name)
    (role_name,) = (
        r["PhysicalResourceId"] for r in resources["StackResourceSummaries"] if r["LogicalResourceId"] == logical_id
    )
    return str(client("iam").get_role(RoleName=role_name)["Role"]["Arn"])


FUNCTION_ROLES = {
    "StartOrderRole": "start-order",
    "ValidateOrderRole": "validate-order",
    "ProcessPaymentRole": "process-payment",
    "SendNotificationRole": "send-notification",
}


@pytest.mark.parametrize("role", FUNCTION_ROLES)
def test_no_function_can_write_the_audit_log_but_each_writes_its_own(
    local_aws: Any, make_function: Any, role: str
) -> None:
    """A function running with each of the template's roles, as the stack's own functions run."""
    arn, stream = stack_role_arn(role), {"logStreamName": f"iam-test-{role}"}
    audit = function_call(
        make_function, arn, "logs", "create_log_stream", {"logGroupName": aws.resources().audit_log_group} | stream
    )
    assert audit["error"] == "AccessDeniedException"
    own = f"/aws/lambda/{aws.connection().stack_name}-{FUNCTION_ROLES[role]}"
    assert (
        function_call(make_function, arn, "logs", "create_log_stream", {"logGroupName": own} | stream)["error"] is None
    )


def test_a_user_cannot_assume_a_role_only_lambda_may_assume(local_aws: Any) -> None:
    arn = stack_role_arn("ValidateOrderRole")
    with pytest.raises(ClientError, match="AccessDenied"):
        client("sts").assume_role(RoleArn=arn, RoleSessionName="not-lambda")


def test_an_event_source_needs_a_role_that_may_poll_the_queue(local_aws: Any, make_function: Any) -> None:
    iam = client("iam")
    role = iam.create_role(RoleName="may-not-poll", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]["Arn"]
    name = make_function("batch", timeout=1, role=role)
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="runtime-unpolled", Attributes={"VisibilityTimeout": "5"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    with pytest.raises(ClientError, match="does not have permissions to call ReceiveMessage on SQS"):
        client("lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName=name)
