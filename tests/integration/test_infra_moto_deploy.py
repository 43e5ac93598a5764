"""Deploy infra/template.yaml, translated offline by aws-sam-translator, into moto's CloudFormation.

What moto's CloudFormation really creates is asserted: the queues (redrive policy, visibility, SSE flag), the four
functions (handler, timeout, runtime, environment wiring), the SQS event source mapping, the state machine (STANDARD,
its role, the definition with the function ARNs substituted), the IAM roles and the dashboard policy, the table's
key schema and billing mode, the topics, the dashboard body and the stack outputs.

What it cannot check (and tests/unit/test_infra.py checks statically instead): moto skips AWS::CloudWatch::Alarm and
AWS::SNS::Subscription (removed here before the deploy), and ignores Lambda TracingConfig, LoggingConfig and Layers,
the state machine's LoggingConfiguration/TracingConfiguration and DefinitionSubstitutions (so the definition is
inlined with Fn::Sub over the same map), DynamoDB TimeToLiveSpecification and PITR, and the DLQ's
RedriveAllowPolicy. moto does not evaluate IAM policies, and it cannot run the Lambda code (no Docker here): no
order flows through this stack. Nothing of this was deployed to a real AWS account.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.local.functions import FUNCTIONS

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA_DIR = REPO_ROOT / "infra"
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
STACK = "orders-moto"
REGION = "us-east-1"
UNSUPPORTED_BY_MOTO = ("AWS::CloudWatch::Alarm", "AWS::SNS::Subscription")

_spec = importlib.util.spec_from_file_location("infra_offline_moto", INFRA_DIR / "offline.py")
assert _spec
assert _spec.loader
offline = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(offline)


def _moto_ready_template() -> dict[str, Any]:
    if importlib.util.find_spec("samtranslator") is None:
        pip = Path(sys.executable).parent / "pip"
        message = f"aws-sam-translator is missing: {pip} install -r infra/requirements.txt"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    cfn = offline.translate(offline.load_template())
    cfn = offline.inline_definition(cfn, "OrderWorkflow", offline.ASL_PATH.read_text(encoding="utf-8"))
    dashboard = cfn["Resources"]["Dashboard"]["Properties"]["DashboardBody"]
    for logical_id in [k for k, r in cfn["Resources"].items() if r["Type"] in UNSUPPORTED_BY_MOTO]:
        del cfn["Resources"][logical_id]
        # The dashboard's alarm widget refers to the alarms; give it the ARNs they would have.
        alarm_arn = f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:{logical_id}"
        dashboard["Fn::Sub"] = dashboard["Fn::Sub"].replace("${" + logical_id + ".Arn}", alarm_arn)
    return cfn


@pytest.fixture(scope="module")
def stack(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    from moto import mock_aws

    cfn = _moto_ready_template()
    with mock_aws():
        import boto3

        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=offline.FAKE_CODE_BUCKET)
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("lambdas/__init__.py", "")
        # A placeholder zip wherever the translated template expects a built artifact (moto cannot run the code).
        for resource in cfn["Resources"].values():
            location = resource["Properties"].get("Code") or resource["Properties"].get("Content") or {}
            if "S3Key" in location:
                s3.put_object(Bucket=location["S3Bucket"], Key=location["S3Key"], Body=archive.getvalue())
        cloudformation = boto3.client("cloudformation")
        cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(cfn), Capabilities=["CAPABILITY_IAM"])
        (described,) = cloudformation.describe_stacks(StackName=STACK)["Stacks"]
        resources = cloudformation.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
        yield {
            "status": described["StackStatus"],
            "outputs": {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])},
            "resources": {r["LogicalResourceId"]: r for r in resources},
            "boto3": boto3,
        }


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_DEFAULT_REGION", REGION)
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            mp.delenv(name, raising=False)
        yield mp


def test_stack_creates_with_the_app_outputs(stack: dict[str, Any]) -> None:
    assert stack["status"] == "CREATE_COMPLETE"
    template_outputs = set(offline.load_template()["Outputs"])
    assert set(stack["outputs"]) == template_outputs
    assert all(stack["outputs"].values())
    assert stack["outputs"]["StartOrderFunctionName"] == f"{STACK}-start-order"
    assert stack["outputs"]["DashboardName"] == f"{STACK}-orders"


def test_queue_and_dead_letter_queue(stack: dict[str, Any]) -> None:
    sqs = stack["boto3"].client("sqs")
    queue = sqs.get_queue_attributes(QueueUrl=stack["outputs"]["OrdersQueueUrl"], AttributeNames=["All"])
    dlq = sqs.get_queue_attributes(QueueUrl=stack["outputs"]["OrdersDeadLetterQueueUrl"], AttributeNames=["All"])
    queue, dlq = queue["Attributes"], dlq["Attributes"]
    assert json.loads(queue["RedrivePolicy"]) == {"deadLetterTargetArn": dlq["QueueArn"], "maxReceiveCount": 3}
    assert int(queue["VisibilityTimeout"]) >= 6 * 30
    assert queue["SqsManagedSseEnabled"] == dlq["SqsManagedSseEnabled"] == "true"
    assert int(dlq["MessageRetentionPeriod"]) == 14 * 24 * 3600


def test_functions_match_the_registry_and_are_wired(stack: dict[str, Any]) -> None:
    lam = stack["boto3"].client("lambda")
    out = stack["outputs"]
    names = [out[k] for k in ("StartOrderFunctionName", "ValidateOrderFunctionName")] + [
        out[k] for k in ("ProcessPaymentFunctionName", "SendNotificationFunctionName")
    ]
    configs = {c["Handler"]: c for c in (lam.get_function(FunctionName=n)["Configuration"] for n in names)}
    assert {h: c["Timeout"] for h, c in configs.items()} == {s.handler: s.timeout_seconds for s in FUNCTIONS}
    for config in configs.values():
        assert config["Runtime"] == "python3.13"
        assert config["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "order-pipeline"
        assert config["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"] == "OrderPipeline"
    env = {h: c["Environment"]["Variables"] for h, c in configs.items()}
    assert env["lambdas.start_order.handler"]["ORDERS_STATE_MACHINE_ARN"] == out["OrderWorkflowArn"]
    assert env["lambdas.process_payment.handler"]["PAYMENTS_TABLE_NAME"] == out["PaymentsTableName"]
    assert env["lambdas.send_notification.handler"]["NOTIFICATIONS_TOPIC_ARN"] == out["NotificationsTopicArn"]
    role = configs["lambdas.start_order.handler"]["Role"]
    assert role.split("/")[-1] == stack["resources"]["StartOrderRole"]["PhysicalResourceId"]

    (mapping,) = lam.list_event_source_mappings(FunctionName=out["StartOrderFunctionName"])["EventSourceMappings"]
    queue_arn = (
        stack["boto3"]
        .client("sqs")
        .get_queue_attributes(QueueUrl=out["OrdersQueueUrl"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    )
    assert mapping["EventSourceArn"] == queue_arn
    assert mapping["BatchSize"] == 10
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 5}


def test_state_machine_has_the_substituted_definition(stack: dict[str, Any]) -> None:
    out = stack["outputs"]
    machine = stack["boto3"].client("stepfunctions").describe_state_machine(stateMachineArn=out["OrderWorkflowArn"])
    assert machine["type"] == "STANDARD"
    assert machine["name"] == f"{STACK}-order-workflow"
    assert machine["roleArn"].split("/")[-1] == stack["resources"]["OrderWorkflowRole"]["PhysicalResourceId"]
    definition = json.loads(machine["definition"])
    assert "${" not in machine["definition"]
    invoked = {
        state["Parameters"]["FunctionName"]
        for state in definition["States"].values()
        if state.get("Resource") == "arn:aws:states:::lambda:invoke"
    }
    lam = stack["boto3"].client("lambda")
    expected = {
        lam.get_function(FunctionName=out[key])["Configuration"]["FunctionArn"]
        for key in ("ValidateOrderFunctionName", "ProcessPaymentFunctionName", "SendNotificationFunctionName")
    }
    assert invoked == expected


def test_roles_and_dashboard_policy(stack: dict[str, Any]) -> None:
    iam = stack["boto3"].client("iam")
    for logical_id in ("StartOrderRole", "ValidateOrderFunctionRole", "ProcessPaymentFunctionRole"):
        iam.get_role(RoleName=stack["resources"][logical_id]["PhysicalResourceId"])
    for logical_id in ("SendNotificationFunctionRole", "OrderWorkflowRole"):
        iam.get_role(RoleName=stack["resources"][logical_id]["PhysicalResourceId"])
    arn = stack["outputs"]["DashboardPolicyArn"]
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    by_sid = {s["Sid"]: s for s in document["Statement"]}
    assert by_sid["InspectAndRedriveExecutions"]["Resource"] == (
        f"arn:aws:states:{REGION}:123456789012:execution:{STACK}-order-workflow:*"
    )
    assert by_sid["ReadOwnStack"]["Resource"].startswith(f"arn:aws:cloudformation:{REGION}:123456789012:stack/{STACK}/")
    log_group = f"arn:aws:logs:{REGION}:123456789012:log-group:/aws/lambda/{STACK}-start-order"
    assert by_sid["ReadFunctionLogs"]["Resource"][:2] == [log_group, f"{log_group}:*"]
    deployed = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": document}}
    assert offline.iam_violations({"Resources": {"DashboardPolicy": deployed}}) == []


def test_table_topics_and_dashboard(stack: dict[str, Any]) -> None:
    client = stack["boto3"].client
    table = client("dynamodb").describe_table(TableName=stack["outputs"]["PaymentsTableName"])["Table"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    topic = client("sns").get_topic_attributes(TopicArn=stack["outputs"]["NotificationsTopicArn"])["Attributes"]
    assert topic["KmsMasterKeyId"] == "alias/aws/sns"
    client("sns").get_topic_attributes(TopicArn=stack["outputs"]["AlarmTopicArn"])
    body = client("cloudwatch").get_dashboard(DashboardName=stack["outputs"]["DashboardName"])["DashboardBody"]
    widgets = json.loads(body)["widgets"]
    assert not re.search(r"\$\{", body)
    dimensions = {m[3] for w in widgets for m in w["properties"].get("metrics", [])}
    assert {f"{STACK}-orders", f"{STACK}-orders-dlq", stack["outputs"]["OrderWorkflowArn"]} <= dimensions
    assert stack["outputs"]["StartOrderFunctionName"] in dimensions
    logs = client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{STACK}-")["logGroups"]
    assert {g["logGroupName"] for g in logs} == {
        f"/aws/lambda/{STACK}-{n}" for n in ("start-order", "validate-order", "process-payment", "send-notification")
    }
