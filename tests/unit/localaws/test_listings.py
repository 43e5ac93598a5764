"""Listings the local AWS answers in the shape AWS's model gives them, where moto's do not: Lambda's layer listings
and CloudFormation's stack set operation results (every answer here is also checked against botocore's output
shapes by tests/conformance/plugins/response_shapes.py)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localaws.config import ACCOUNT_ID, REGION
from localaws.services import patches
from localaws.services.awslambda.fixes import layer_listings
from localaws.services.cloudformation.fixes import stack_set_results
from tests.unit.localaws.conftest import assert_applied_once

CORRECTIONS = (layer_listings, stack_set_results)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    patches.apply_all(CORRECTIONS)
    with mock_aws():
        yield


def _zipped() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("python/helper.py", "VALUE = 1\n")
    return buffer.getvalue()


def test_the_corrections_are_applied_once() -> None:
    patches.apply_all(CORRECTIONS)
    assert_applied_once(CORRECTIONS)


def test_a_layers_versions_are_listed_without_what_only_get_layer_version_gives(aws: Any) -> None:
    client = boto3.client("lambda")
    for _ in range(2):
        client.publish_layer_version(
            LayerName="helpers", Content={"ZipFile": _zipped()}, CompatibleRuntimes=["python3.12"]
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
