"""Where the local AWS answers as AWS's model says and moto does not: listings without members their items lack
(Lambda's layer versions, a stopped stack set operation's results) and values outside an enum refused (a function's
PackageType, a state machine's encryption type). Every answer is also checked against botocore's output shapes by
tests/conformance/plugins/response_shapes.py."""

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
from localaws.services.awslambda.fixes import layer_listings, package_types
from localaws.services.cloudformation.fixes import stack_set_results
from localaws.services.stepfunctions.encryption import encryption_types
from tests.unit.localaws.conftest import MOTO_CONFIG, assert_applied_once

CORRECTIONS = (layer_listings, stack_set_results, package_types, encryption_types)
ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/test"
DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    patches.apply_all(CORRECTIONS)
    with mock_aws(config=MOTO_CONFIG):
        yield


def _zipped(path: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(path, text)
    return buffer.getvalue()


def test_the_corrections_are_applied_once() -> None:
    patches.apply_all(CORRECTIONS)
    assert_applied_once(CORRECTIONS)


# --- listings ---------------------------------------------------------------------------------------------------


def test_a_layers_versions_are_listed_without_what_only_get_layer_version_gives(aws: Any) -> None:
    client = boto3.client("lambda")
    for _ in range(2):
        client.publish_layer_version(
            LayerName="helpers",
            Content={"ZipFile": _zipped("python/helper.py", "VALUE = 1\n")},
            CompatibleRuntimes=["python3.12"],
        )
    listed = client.list_layer_versions(LayerName="helpers")["LayerVersions"]
    assert [version["Version"] for version in listed] == [2, 1]
    assert not any({"Content", "LayerArn"} & version.keys() for version in listed)
    assert listed[0]["CompatibleRuntimes"] == ["python3.12"]
    (layer,) = client.list_layers()["Layers"]
    assert layer["LayerName"] == "helpers"
    assert layer["LatestMatchingVersion"]["LayerVersionArn"] == listed[0]["LayerVersionArn"]
    assert not {"Content", "LayerArn"} & layer["LatestMatchingVersion"].keys()
    # GetLayerVersion still answers both.
    version = client.get_layer_version(LayerName="helpers", VersionNumber=2)
    assert version["Content"]["CodeSize"] > 0
    assert version["LayerArn"] == layer["LayerArn"]


def test_a_stopped_stack_set_operations_instances_are_cancelled_results(aws: Any) -> None:
    client = boto3.client("cloudformation")
    template = json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "fleet"}}}})
    client.create_stack_set(StackSetName="fleet", TemplateBody=template)
    client.create_stack_instances(StackSetName="fleet", Accounts=[ACCOUNT_ID], Regions=["us-east-1", "us-west-2"])
    (operation,) = client.list_stack_set_operations(StackSetName="fleet")["Summaries"]
    client.stop_stack_set_operation(StackSetName="fleet", OperationId=operation["OperationId"])

    described = client.describe_stack_set_operation(StackSetName="fleet", OperationId=operation["OperationId"])
    assert described["StackSetOperation"]["Status"] == "STOPPED"  # the operation's own status is STOPPED
    results = client.list_stack_set_operation_results(StackSetName="fleet", OperationId=operation["OperationId"])
    assert [(r["Region"], r["Status"]) for r in results["Summaries"]] == [
        ("us-east-1", "CANCELLED"),
        ("us-west-2", "CANCELLED"),
    ]


# --- values outside an enum -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("package_type", "refused"), [("ZIP", True), ("zip", True), ("Zip", False), (None, False)])
def test_a_function_is_created_only_with_a_package_type_lambda_knows(
    aws: Any, package_type: str | None, refused: bool
) -> None:
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole"}]}  # fmt: skip
    boto3.client("iam").create_role(RoleName="test", AssumeRolePolicyDocument=json.dumps(trust))
    client = boto3.client("lambda")
    code = _zipped("handler.py", "def handler(event, context):\n    return event\n")
    spec = {"FunctionName": "f", "Runtime": "python3.12", "Role": ROLE, "Handler": "handler.handler",
            "Code": {"ZipFile": code}} | ({"PackageType": package_type} if package_type else {})  # fmt: skip
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
