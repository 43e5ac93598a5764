"""Values outside an API's enum that the local AWS refuses as AWS does, where moto keeps them and answers them back:
a function's PackageType and a state machine's encryption type."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from localaws.config import ACCOUNT_ID, REGION
from localaws.services import patches
from localaws.services.awslambda.fixes import package_types
from localaws.services.stepfunctions.encryption import encryption_types
from tests.unit.localaws.conftest import MOTO_CONFIG, assert_applied_once

CORRECTIONS = (package_types, encryption_types)
ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/test"
DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    patches.apply_all(CORRECTIONS)
    with mock_aws(config=MOTO_CONFIG):
        yield


def _zipped() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def test_the_corrections_are_applied_once() -> None:
    patches.apply_all(CORRECTIONS)
    assert_applied_once(CORRECTIONS)


@pytest.mark.parametrize(("package_type", "refused"), [("ZIP", True), ("zip", True), ("Zip", False), (None, False)])
def test_a_function_is_created_only_with_a_package_type_lambda_knows(
    aws: Any, package_type: str | None, refused: bool
) -> None:
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole"}]}  # fmt: skip
    boto3.client("iam").create_role(RoleName="test", AssumeRolePolicyDocument=json.dumps(trust))
    client = boto3.client("lambda")
    spec = {"FunctionName": "f", "Runtime": "python3.12", "Role": ROLE, "Handler": "handler.handler",
            "Code": {"ZipFile": _zipped()}} | ({"PackageType": package_type} if package_type else {})  # fmt: skip
    if refused:
        with pytest.raises(ClientError) as raised:
            client.create_function(**spec)
        error = raised.value.response["Error"]
        assert error["Code"] == "ValidationException"
        assert f"Value '{package_type}' at 'packageType'" in error["Message"]
        assert "[Image, Zip]" in error["Message"]
        assert client.list_functions()["Functions"] == []
    else:
        assert client.create_function(**spec)["PackageType"] == "Zip"


@pytest.mark.parametrize("kind", ["CUSTOMER_MANAGED_CMK", "aws_owned_key"])
def test_a_state_machine_is_refused_an_encryption_type_step_functions_does_not_know(aws: Any, kind: str) -> None:
    client = boto3.client("stepfunctions")
    with pytest.raises(ClientError) as raised:
        client.create_state_machine(
            name="refused", definition=DEFINITION, roleArn=ROLE, encryptionConfiguration={"type": kind}
        )
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert f"Value '{kind}' at 'encryptionConfiguration.type'" in raised.value.response["Error"]["Message"]
    assert client.list_state_machines()["stateMachines"] == []

    arn = client.create_state_machine(
        name="kept", definition=DEFINITION, roleArn=ROLE, encryptionConfiguration={"type": "AWS_OWNED_KEY"}
    )["stateMachineArn"]
    with pytest.raises(ClientError) as raised:
        client.update_state_machine(stateMachineArn=arn, encryptionConfiguration={"type": kind})
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert client.describe_state_machine(stateMachineArn=arn)["encryptionConfiguration"]["type"] == "AWS_OWNED_KEY"
