"""Offline validation of infra/: the SAM template, the ASL, IAM least privilege, and mutation tests.

The validators run from the venv that runs pytest (sam, cfn-lint, checkov: `pip install -r infra/requirements.txt`)
and from infra/node_modules (asl-validator: `npm ci --prefix infra`). A missing tool fails the test when CI is
set and skips it otherwise. No AWS account or credentials are used: every subprocess gets empty credential files.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from backend.aws import STACK_FUNCTION_OUTPUTS, STACK_OUTPUTS
from tests.conftest import IN_CI

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA_DIR = REPO_ROOT / "infra"
# The infra CLI tools live in their own venv (pinned deps clash with the app): `make test` sets INFRA_TOOLS_BIN.
VENV_BIN = Path(os.environ.get("INFRA_TOOLS_BIN") or Path(sys.executable).parent)
ASL_VALIDATOR = INFRA_DIR / "node_modules" / ".bin" / "asl-validator"

_spec = importlib.util.spec_from_file_location("infra_offline", INFRA_DIR / "offline.py")
assert _spec
assert _spec.loader
offline = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(offline)

# What the app reads from the stack (backend/aws.py), plus what operators use directly.
EXPECTED_OUTPUTS = (
    set(STACK_OUTPUTS)
    | set(STACK_FUNCTION_OUTPUTS)
    | {"AlarmTopicArn", "DashboardName", "DashboardReadOnlyPolicyArn", "DashboardOperatorPolicyArn"}
)
# The optional Cognito sign-in's outputs: [auth] settings, only when CreateUserPool is true.
SIGN_IN_OUTPUTS = {
    "DashboardUserPoolId",
    "DashboardUserPoolClientId",
    "DashboardOidcMetadataUrl",
    "DashboardSignInDomain",
}
FUNCTION_IDS = ("StartOrderFunction", "ValidateOrderFunction", "ProcessPaymentFunction", "SendNotificationFunction")
FUNCTION_ROLES = {function: function.removesuffix("Function") + "Role" for function in FUNCTION_IDS}


# ---------------------------------------------------------------- helpers
def require(path: Path, how_to_install: str) -> Path:
    """The tool at path; when it is missing, fail in CI and skip elsewhere."""
    if path.is_file():
        return path
    message = f"{path} is missing: {how_to_install}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def require_module(name: str, how_to_install: str) -> None:
    if importlib.util.find_spec(name) is None:
        message = f"Python module {name} is missing: {how_to_install}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def venv_tool(name: str) -> Path:
    return require(VENV_BIN / name, f"{VENV_BIN / 'pip'} install -r infra/requirements.txt (make test does this)")


def asl_validator() -> Path:
    if shutil.which("node") is None:
        message = "node is missing: apt-get install nodejs npm, then npm ci --prefix infra"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return require(ASL_VALIDATOR, "npm ci --prefix infra")


@pytest.fixture(scope="module")
def offline_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment with a dummy region and no usable AWS credentials or config."""
    home = tmp_path_factory.mktemp("no-aws-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") or k == "AWS_CA_BUNDLE"}
    env.update(
        HOME=str(home),
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(home / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        SAM_CLI_TELEMETRY="0",
    )
    return env


def run(args: list[str | Path], env: dict[str, str], cwd: Path = INFRA_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def output_of(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return offline.load_template()


@pytest.fixture(scope="module")
def translated(template: dict[str, Any]) -> dict[str, Any]:
    require_module("samtranslator", f"{VENV_BIN / 'pip'} install -r infra/requirements.txt (make test does this)")
    return offline.translate(template)


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == resource_type}


def props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id]["Properties"]


def asl_with_fake_arns(tmp_path: Path, asl_text: str) -> Path:
    substitutions = props(offline.load_template(), "OrderWorkflow")["DefinitionSubstitutions"]
    for key, value in substitutions.items():
        arn = f"arn:aws:lambda:us-east-1:123456789012:function:{value['Fn::GetAtt'][0]}"
        asl_text = asl_text.replace("${" + key + "}", arn)
    assert "${" not in asl_text
    path = tmp_path / "workflow.asl.json"
    path.write_text(asl_text, encoding="utf-8")
    return path


def policy_template_typo(tmp_path: Path) -> Path:
    """A copy of the template (and what it refers to by relative path) with LambdaInvokePolicy's FunctionName
    misspelt."""
    original = (INFRA_DIR / "template.yaml").read_text(encoding="utf-8")
    broken = original.replace("            FunctionName: !Ref", "            FunctionNam: !Ref", 1)
    assert broken != original
    (tmp_path / "infra").mkdir()
    shutil.copy(REPO_ROOT / "workflow.asl.json", tmp_path / "workflow.asl.json")
    path = tmp_path / "infra" / "template.yaml"
    path.write_text(broken, encoding="utf-8")
    return path


# ---------------------------------------------------------------- validators on the real files
def test_sam_validate_translates_the_template(offline_env: dict[str, str]) -> None:
    """Plain `sam validate` runs aws-sam-translator (policy templates, event sources, DefinitionSubstitutions)."""
    result = run([venv_tool("sam"), "validate", "--template-file", "template.yaml"], offline_env)
    assert result.returncode == 0, output_of(result)
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_sam_validate_lint_passes(offline_env: dict[str, str]) -> None:
    result = run([venv_tool("sam"), "validate", "--lint", "--template-file", "template.yaml"], offline_env)
    assert result.returncode == 0, output_of(result)


def test_cfn_lint_passes(offline_env: dict[str, str]) -> None:
    result = run([venv_tool("cfn-lint"), "--", "template.yaml"], offline_env)
    assert result.returncode == 0, output_of(result)


def test_asl_validator_passes(offline_env: dict[str, str], tmp_path: Path) -> None:
    validator = asl_validator()
    definition = asl_with_fake_arns(tmp_path, (REPO_ROOT / "workflow.asl.json").read_text(encoding="utf-8"))
    result = run([validator, "--json-path", definition], offline_env)
    assert result.returncode == 0, output_of(result)
    assert "is valid" in result.stdout


def test_checkov_passes_on_template_and_translation(
    offline_env: dict[str, str], translated: dict[str, Any], tmp_path: Path
) -> None:
    """checkov on the SAM template and on its CloudFormation translation (which shows the SAM-generated roles and
    the plain state machine). The translation carries each resource's inline skips over as checkov Metadata, so
    both scans accept exactly the justified skips; every skip must be used and give a reason."""
    checkov = venv_tool("checkov")
    skips = offline.checkov_skips()
    assert skips, "expected the template's justified checkov skips"
    for resource, check_id, reason in skips:
        assert len(reason) >= 40, f"{resource} {check_id}: give a real reason for the skip"
    cfn = json.loads(json.dumps(translated))
    for resource, check_id, reason in skips:
        metadata = cfn["Resources"][resource].setdefault("Metadata", {})
        metadata.setdefault("checkov", {}).setdefault("skip", []).append({"id": check_id, "comment": reason})
    translated_path = tmp_path / "translated.json"
    translated_path.write_text(json.dumps(cfn, indent=1), encoding="utf-8")

    result = run(
        [checkov, "--file", INFRA_DIR / "template.yaml", "--file", translated_path, "--framework", "cloudformation",
         "--skip-download", "--output", "json"],
        offline_env,
    )  # fmt: skip
    report = json.loads(result.stdout)
    failed = [(c["check_id"], c["resource"], c["file_path"]) for c in report["results"]["failed_checks"]]
    assert not failed, f"checkov failed checks: {failed}"
    assert result.returncode == 0, output_of(result)[-3000:]
    assert report["summary"]["parsing_errors"] == 0
    used = {(c["check_id"], c["resource"].split(".")[-1]) for c in report["results"]["skipped_checks"]}
    unused = {(check_id, resource) for resource, check_id, _ in skips} - used
    assert not unused, f"stale checkov skips (the check no longer fires): {sorted(unused)}"


# ---------------------------------------------------------------- mutation tests: breakage must fail validation
def test_policy_template_typo_fails_sam_validate(offline_env: dict[str, str], tmp_path: Path) -> None:
    """A misspelt policy-template parameter fails `sam validate` (the translator). Note: `sam validate --lint`
    alone does not catch it, cfn-lint 1.x no longer runs the SAM translator; hence both validations."""
    broken = policy_template_typo(tmp_path)
    result = run([venv_tool("sam"), "validate", "--template-file", broken], offline_env, cwd=broken.parent)
    assert result.returncode != 0, output_of(result)
    assert "LambdaInvokePolicy" in result.stdout + result.stderr, output_of(result)
    assert "FunctionName" in result.stdout + result.stderr, output_of(result)


def test_dangling_next_in_asl_fails_asl_validator(offline_env: dict[str, str], tmp_path: Path) -> None:
    validator = asl_validator()
    asl = json.loads((REPO_ROOT / "workflow.asl.json").read_text(encoding="utf-8"))
    assert asl["States"]["NotifyFailed"]["Next"] == "OrderFailed"
    asl["States"]["NotifyFailed"]["Next"] = "OrderFailedTypo"
    definition = asl_with_fake_arns(tmp_path, json.dumps(asl, indent=2))
    result = run([validator, "--json-path", definition], offline_env)
    assert result.returncode != 0, output_of(result)
    assert "MISSING_TRANSITION_TARGET" in result.stdout + result.stderr, output_of(result)
    assert "OrderFailedTypo" in result.stdout + result.stderr, output_of(result)


def test_iam_audit_catches_wildcards_and_full_access(template: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(template))
    payment = props(broken, "ProcessPaymentRole")
    payment["Policies"][0]["PolicyDocument"]["Statement"][0]["Resource"] = "*"
    payment["ManagedPolicyArns"] = ["arn:aws:iam::aws:policy/AmazonSQSFullAccess"]
    props(broken, "ValidateOrderRole")["ManagedPolicyArns"] = [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    ]
    props(broken, "DashboardOperatorPolicy")["PolicyDocument"]["Statement"][0]["Action"] = "sqs:*"
    problems = offline.iam_violations(broken)
    assert any("ProcessPaymentRole" in p and "dynamodb:GetItem" in p for p in problems), problems
    assert any("AmazonSQSFullAccess" in p for p in problems), problems
    assert any("ValidateOrderRole" in p and "AWSLambdaBasicExecutionRole" in p for p in problems), problems
    assert any("wildcard action sqs:*" in p for p in problems), problems


# ---------------------------------------------------------------- consistency with the workflow
def test_placeholders_match_the_template_substitutions(template: dict[str, Any]) -> None:
    asl_keys = offline.asl_placeholders((REPO_ROOT / "workflow.asl.json").read_text(encoding="utf-8"))
    workflow = props(template, "OrderWorkflow")
    assert workflow["DefinitionUri"] == "../workflow.asl.json"
    assert (INFRA_DIR / workflow["DefinitionUri"]).resolve() == (REPO_ROOT / "workflow.asl.json").resolve()
    assert asl_keys == set(workflow["DefinitionSubstitutions"])
    for value in workflow["DefinitionSubstitutions"].values():
        function_id = value["Fn::GetAtt"][0]
        assert value == {"Fn::GetAtt": [function_id, "Arn"]}
        assert function_id in FUNCTION_IDS


def test_function_settings(template: dict[str, Any]) -> None:
    function_globals = template["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Tracing"] == "Active"
    assert function_globals["Layers"] == [{"Ref": "DependenciesLayer"}]
    assert function_globals["Environment"]["Variables"] == {
        "POWERTOOLS_SERVICE_NAME": "order-pipeline",
        "POWERTOOLS_METRICS_NAMESPACE": "OrderPipeline",
    }
    layer = template["Resources"]["DependenciesLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    makefile = (INFRA_DIR / "Makefile").read_text(encoding="utf-8")
    for fid in (*FUNCTION_IDS, "DependenciesLayer"):
        assert re.search(rf"^build-{fid}:", makefile, re.MULTILINE), f"infra/Makefile lacks build-{fid}"
    for fid in FUNCTION_IDS:
        resource = template["Resources"][fid]
        assert resource["Metadata"] == {"BuildMethod": "makefile", "ContextPath": "."}
        assert resource["Properties"]["CodeUri"] == "../lambdas"
        assert resource["Properties"]["LoggingConfig"]["LogFormat"] == "JSON"
        assert "Runtime" not in resource["Properties"]
        assert "Tracing" not in resource["Properties"]
    env = {fid: props(template, fid).get("Environment", {}).get("Variables", {}) for fid in FUNCTION_IDS}
    assert env["StartOrderFunction"] == {
        "ORDERS_STATE_MACHINE_ARN": {"Ref": "OrderWorkflow"},
        "QUEUED_ORDERS_TABLE_NAME": {"Ref": "QueuedOrdersTable"},
    }
    assert env["ProcessPaymentFunction"]["PAYMENTS_TABLE_NAME"] == {"Ref": "PaymentsTable"}
    assert env["SendNotificationFunction"] == {"NOTIFICATIONS_TOPIC_ARN": {"Ref": "NotificationsTopic"}}


def test_queue_and_event_source(template: dict[str, Any]) -> None:
    queue, dlq = props(template, "OrdersQueue"), props(template, "OrdersDeadLetterQueue")
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["OrdersDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    assert queue["SqsManagedSseEnabled"] is True
    assert dlq["SqsManagedSseEnabled"] is True
    assert dlq["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    # Only the orders queue may use the DLQ; its ARN is built from the queue's name (a GetAtt would be circular).
    (source_arn,) = dlq["RedriveAllowPolicy"]["sourceQueueArns"]
    assert dlq["RedriveAllowPolicy"]["redrivePermission"] == "byQueue"
    assert source_arn["Fn::Sub"].endswith(":" + queue["QueueName"]["Fn::Sub"])
    event = props(template, "StartOrderFunction")["Events"]["Orders"]
    assert event["Type"] == "SQS"
    sqs = event["Properties"]
    assert sqs["Queue"] == {"Fn::GetAtt": ["OrdersQueue", "Arn"]}
    assert sqs["BatchSize"] == 10
    assert sqs["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert sqs["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "StartOrderMaximumConcurrency"}
    assert template["Parameters"]["StartOrderMaximumConcurrency"]["MinValue"] >= 2
    # AWS guidance: visibility timeout >= 6x the function timeout (+ the longest batching window allowed).
    timeout = props(template, "StartOrderFunction")["Timeout"]
    assert sqs["MaximumBatchingWindowInSeconds"] == {"Ref": "StartOrderBatchingWindowSeconds"}
    window = template["Parameters"]["StartOrderBatchingWindowSeconds"]["MaxValue"]
    assert queue["VisibilityTimeout"] >= 6 * timeout + window


def test_state_machine_settings(template: dict[str, Any]) -> None:
    workflow = template["Resources"]["OrderWorkflow"]
    assert workflow["Type"] == "AWS::Serverless::StateMachine"
    settings = workflow["Properties"]
    assert settings["Type"] == "STANDARD"
    assert settings["Logging"]["Level"] in ("ERROR", "ALL")
    assert settings["Logging"]["IncludeExecutionData"] is True
    assert settings["Logging"]["Destinations"] == [
        {"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": ["WorkflowLogGroup", "Arn"]}}}
    ]
    assert settings["Tracing"] == {"Enabled": True}
    invoked = {
        p["LambdaInvokePolicy"]["FunctionName"]["Ref"] for p in settings["Policies"] if "LambdaInvokePolicy" in p
    }
    assert invoked == {"ValidateOrderFunction", "ProcessPaymentFunction", "SendNotificationFunction"}


def test_payments_table_and_topics(template: dict[str, Any]) -> None:
    table = props(template, "PaymentsTable")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    # The queued-orders ledger: one partition sorted by order id, rows expire with their messages.
    ledger = props(template, "QueuedOrdersTable")
    assert ledger["BillingMode"] == "PAY_PER_REQUEST"
    assert ledger["KeySchema"] == [
        {"AttributeName": "queue", "KeyType": "HASH"},
        {"AttributeName": "order_id", "KeyType": "RANGE"},
    ]
    assert ledger["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert ledger["SSESpecification"] == {"SSEEnabled": True}
    subscriptions = resources_of_type(template, "AWS::SNS::Subscription")
    assert {s["Condition"] for s in subscriptions.values()} == {"HasNotificationEmail", "HasAlarmEmail"}
    topics = {s["Properties"]["TopicArn"]["Ref"] for s in subscriptions.values()}
    assert topics == {"NotificationsTopic", "AlarmTopic"}
    assert template["Parameters"]["NotificationEmail"]["Default"] == ""


def test_outputs_are_exactly_what_the_app_reads(template: dict[str, Any]) -> None:
    assert set(template["Outputs"]) == EXPECTED_OUTPUTS | SIGN_IN_OUTPUTS
    conditional = {key for key, output in template["Outputs"].items() if "Condition" in output}
    assert conditional == SIGN_IN_OUTPUTS
    assert {template["Outputs"][key]["Condition"] for key in conditional} == {"CreateUserPool"}


def test_alarms(template: dict[str, Any]) -> None:
    alarms = [a["Properties"] for a in resources_of_type(template, "AWS::CloudWatch::Alarm").values()]
    for alarm in alarms:
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"

    def metrics_of(alarm: dict[str, Any]) -> list[dict[str, Any]]:
        if "Metrics" not in alarm:
            return [alarm]
        return [query["MetricStat"]["Metric"] for query in alarm["Metrics"] if "MetricStat" in query]

    def find(namespace: str, metric: str) -> list[dict[str, Any]]:
        return [
            a for a in alarms if any(m["Namespace"] == namespace and m["MetricName"] == metric for m in metrics_of(a))
        ]

    def expression(alarm: dict[str, Any]) -> str:
        (returned,) = [query for query in alarm["Metrics"] if query["ReturnData"]]
        return returned["Expression"]

    (dlq,) = find("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert dlq["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["OrdersDeadLetterQueue", "QueueName"]}
    assert dlq["Threshold"] == 0
    # Declines and rejections end in Fail states by design: the failure alarm counts only technical failures.
    (failed,) = find("AWS/States", "ExecutionsFailed")
    assert failed["Threshold"] == 0
    assert expression(failed) == "failed - FILL(rejected, 0) - FILL(declined, 0)"
    assert {m["MetricName"] for m in metrics_of(failed)} == {"ExecutionsFailed", "OrdersRejected", "PaymentsDeclined"}
    (latency,) = find("AWS/States", "ExecutionTime")
    assert latency["ExtendedStatistic"] == "p99"
    assert latency["Threshold"] == 5000
    errors = find("AWS/Lambda", "Errors")
    functions = [
        m["Dimensions"][0]["Value"]["Ref"] for a in errors for m in metrics_of(a) if m["MetricName"] == "Errors"
    ]
    assert sorted(functions) == sorted(FUNCTION_IDS)
    # A payment timeout the workflow retries is one error in an order that succeeds: its alarm wants more than that.
    (payment,) = [a for a in errors if a.get("Dimensions", [{}])[0].get("Value") == {"Ref": "ProcessPaymentFunction"}]
    assert (payment["Statistic"], payment["Period"], payment["Threshold"]) == ("Sum", 60, 2)
    assert all(a["Threshold"] == 0 for a in errors if a is not payment)
    (validate,) = [a for a in errors if "Metrics" in a]
    assert expression(validate) == "errors - FILL(rejected, 0)"


def test_dashboard_body_is_valid_json_with_the_key_metrics(template: dict[str, Any]) -> None:
    body = props(template, "Dashboard")["DashboardBody"]["Fn::Sub"]
    resolved = re.sub(r"\$\{([A-Za-z0-9:.]+)\}", lambda m: f"resolved-{m.group(1)}", body)
    widgets = json.loads(resolved)["widgets"]
    metrics = [tuple(m[:4]) for w in widgets for m in w["properties"].get("metrics", [])]
    stats = {m[4].get("stat") for w in widgets for m in w["properties"].get("metrics", []) if len(m) > 4}
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "resolved-OrdersQueue.QueueName") in metrics
    dlq_depth = (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "QueueName",
        "resolved-OrdersDeadLetterQueue.QueueName",
    )
    assert dlq_depth in metrics
    assert ("AWS/States", "ExecutionsStarted", "StateMachineArn", "resolved-OrderWorkflow") in metrics
    assert {"p50", "p90", "p99"} <= stats
    for fid in FUNCTION_IDS:
        assert ("AWS/Lambda", "Errors", "FunctionName", f"resolved-{fid}") in metrics
        assert ("AWS/Lambda", "Duration", "FunctionName", f"resolved-{fid}") in metrics
    emf = {m[1] for m in metrics if m[0] == "OrderPipeline"}
    expected_emf = {"OrdersStarted", "DuplicateDeliveries", "OrdersRejected", "PaymentsApproved"}
    assert emf == expected_emf | {"PaymentsDeclined", "NotificationsSent"}
    referenced = set(re.findall(r"\$\{([A-Za-z0-9]+)[.}]", body)) - {"AWS"}
    assert referenced <= set(template["Resources"]), referenced - set(template["Resources"])


# ---------------------------------------------------------------- IAM least privilege
def test_iam_least_privilege_in_template(template: dict[str, Any]) -> None:
    assert offline.iam_violations(template) == []


def test_iam_least_privilege_after_sam_translation(translated: dict[str, Any]) -> None:
    """The CloudFormation SAM generates: its roles carry only the allow-listed AWS managed policies."""
    assert offline.iam_violations(translated) == []
    roles = resources_of_type(translated, "AWS::IAM::Role")
    assert set(roles) == {*FUNCTION_ROLES.values(), "OrderWorkflowRole"}
    # The explicit roles avoid AWSLambdaSQSQueueExecutionRole (sqs:ReceiveMessage/DeleteMessage on "*") and
    # AWSLambdaBasicExecutionRole (writing to any log group, the audit log included).
    for role in FUNCTION_ROLES.values():
        assert "ManagedPolicyArns" not in roles[role]["Properties"], role


def test_each_function_has_its_own_role_writing_only_its_own_log_group(template: dict[str, Any]) -> None:
    for function, role in FUNCTION_ROLES.items():
        assert props(template, function)["Role"] == {"Fn::GetAtt": [role, "Arn"]}
        assert "Policies" not in props(template, function), function  # no SAM-generated role beside it
        (policy,) = props(template, role)["Policies"]
        log_grants = [s for s in policy["PolicyDocument"]["Statement"] if any(
            action.startswith("logs:") for action in offline._as_list(s["Action"]))]  # fmt: skip
        log_group = props(template, function)["LoggingConfig"]["LogGroup"]["Ref"]
        assert log_grants == [
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": {"Fn::Sub": f"{LOG_GROUP_PREFIX}${{{log_group}}}:*"},
            }
        ], function


def test_start_order_role_is_scoped(template: dict[str, Any]) -> None:
    (policy,) = props(template, "StartOrderRole")["Policies"]
    by_sid = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert by_sid["PollOrdersQueue"]["Resource"] == {"Fn::GetAtt": ["OrdersQueue", "Arn"]}
    assert by_sid["StartOrderWorkflow"] == {
        "Sid": "StartOrderWorkflow",
        "Effect": "Allow",
        "Action": "states:StartExecution",
        "Resource": {"Ref": "OrderWorkflow"},
    }
    assert by_sid["WriteOwnLogs"]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${StartOrderLogGroup}:*"
    }
    assert by_sid["StrikeStartedOrders"]["Action"] == "dynamodb:BatchWriteItem"  # nothing else on the ledger
    assert by_sid["StrikeStartedOrders"]["Resource"] == {"Fn::GetAtt": ["QueuedOrdersTable", "Arn"]}
    assert by_sid["MarkFailedStarts"]["Action"] == "dynamodb:UpdateItem"  # a failed start counts on its row
    assert by_sid["MarkFailedStarts"]["Resource"] == {"Fn::GetAtt": ["QueuedOrdersTable", "Arn"]}
    assert props(template, "StartOrderFunction")["Role"] == {"Fn::GetAtt": ["StartOrderRole", "Arn"]}


def grants_of(template: dict[str, Any], logical_id: str) -> dict[str, list[str]]:
    """Action -> the resources a managed policy grants it on (as sorted JSON)."""
    grants: dict[str, list[str]] = {}
    for statement in props(template, logical_id)["PolicyDocument"]["Statement"]:
        assert statement["Effect"] == "Allow"
        resources = [json.dumps(r, sort_keys=True) for r in offline._as_list(statement["Resource"])]
        for action in offline._as_list(statement["Action"]):
            grants.setdefault(action, []).extend(resources)
    return grants


QUEUE = json.dumps({"Fn::GetAtt": ["OrdersQueue", "Arn"]}, sort_keys=True)
LEDGER = json.dumps({"Fn::GetAtt": ["QueuedOrdersTable", "Arn"]}, sort_keys=True)
DLQ = json.dumps({"Fn::GetAtt": ["OrdersDeadLetterQueue", "Arn"]}, sort_keys=True)
LOG_GROUP_PREFIX = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
AUDIT_LOG = sorted(json.dumps({"Fn::Sub": f"{LOG_GROUP_PREFIX}${{AuditLogGroup}}{suffix}"}) for suffix in ("", ":*"))


def test_dashboard_read_only_policy_changes_nothing(template: dict[str, Any]) -> None:
    grants = grants_of(template, "DashboardReadOnlyPolicy")
    workflow = json.dumps({"Ref": "OrderWorkflow"}, sort_keys=True)
    assert sorted(grants.pop("sqs:GetQueueAttributes")) == sorted([QUEUE, DLQ])
    assert grants.pop("sqs:ListMessageMoveTasks") == [DLQ]  # the Queues page's redrives
    for action in ("ListExecutions", "DescribeStateMachine"):
        assert grants.pop(f"states:{action}") == [workflow]
    for action in ("DescribeExecution", "GetExecutionHistory"):
        (arn,) = grants.pop(f"states:{action}")
        assert ":execution:${OrderWorkflow.Name}:*" in arn
    for action in ("GetMetricData", "GetMetricStatistics", "ListMetrics"):
        assert grants.pop(f"cloudwatch:{action}") == ['"*"']
    for action in ("DescribeAlarms", "DescribeAlarmHistory"):  # the Overview's alarms: only the stack's own
        (alarms,) = grants.pop(f"cloudwatch:{action}")
        assert alarms.endswith(':alarm:${AWS::StackName}-*"}')
    log_groups = sorted(
        json.dumps({"Fn::Sub": f"{LOG_GROUP_PREFIX}${{{fid.removesuffix('Function')}LogGroup}}{suffix}"})
        for fid in FUNCTION_IDS
        for suffix in ("", ":*")
    )
    assert sorted(grants.pop("logs:FilterLogEvents")) == sorted(log_groups + AUDIT_LOG)
    assert sorted(grants.pop("logs:GetLogEvents")) == log_groups
    assert sorted(grants.pop("logs:StartQuery")) == [group for group in log_groups if ':*"' in group]
    assert grants.pop("logs:GetQueryResults") == ['"*"']  # no resource: a query id only
    assert grants.pop("dynamodb:Query") == [LEDGER]  # is an order queued, and behind how many
    payments = json.dumps({"Fn::GetAtt": ["PaymentsTable", "Arn"]}, sort_keys=True)
    assert sorted(grants.pop("dynamodb:GetItem")) == sorted([LEDGER, payments])  # and its payment's record
    (stack,) = grants.pop("cloudformation:DescribeStacks")
    assert ":stack/${AWS::StackName}/*" in stack
    assert grants == {}, f"unexpected grants: {grants}"


def test_dashboard_operator_policy_grants_only_the_actions_of_staff_and_operators(template: dict[str, Any]) -> None:
    grants = grants_of(template, "DashboardOperatorPolicy")
    assert grants.pop("sqs:SendMessage") == [QUEUE]
    assert grants.pop("dynamodb:BatchWriteItem") == [LEDGER]  # ledger rows of placed and purged orders
    assert sorted(grants.pop("sqs:PurgeQueue")) == sorted([QUEUE, DLQ])
    # Peek receives and releases; a redrive is a message move task, which receives and deletes as its starter.
    for action in ("ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "StartMessageMoveTask"):
        assert grants.pop(f"sqs:{action}") == [DLQ], action
    assert grants.pop("sqs:CancelMessageMoveTask") == [DLQ]
    for action in ("StopExecution", "RedriveExecution"):
        (arn,) = grants.pop(f"states:{action}")
        assert ":execution:${OrderWorkflow.Name}:*" in arn
    for action in ("CreateLogStream", "PutLogEvents"):
        assert sorted(grants.pop(f"logs:{action}")) == AUDIT_LOG
    assert grants == {}, f"unexpected grants: {grants}"


def test_the_optional_user_pool(template: dict[str, Any]) -> None:
    assert template["Parameters"]["CreateUserPool"]["Default"] == "false"
    cognito = {k: r for k, r in template["Resources"].items() if r["Type"].startswith("AWS::Cognito::")}
    assert {r["Condition"] for r in cognito.values()} == {"CreateUserPool"}
    groups = [r["Properties"] for r in cognito.values() if r["Type"] == "AWS::Cognito::UserPoolGroup"]
    assert sorted((g["Precedence"], g["GroupName"]) for g in groups) == [
        (10, "operator"),
        (20, "staff"),
        (30, "viewer"),
    ]
    client = props(template, "DashboardUserPoolClient")
    assert client["GenerateSecret"] is True
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["CallbackURLs"] == [{"Fn::Sub": "${DashboardUrl}/oauth2callback"}]
    assert props(template, "DashboardUserPool")["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    rule = template["Rules"]["UserPoolNeedsDashboardUrl"]  # CloudFormation refuses a pool with no callback URL
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "CreateUserPool"}, "true"]}


def test_the_local_aws_skips_resources_whose_condition_is_false() -> None:
    from localaws.stack import TemplateError, check_resource_types

    template = {
        "Parameters": {"CreateUserPool": {"Type": "String", "Default": "false"}},
        "Conditions": {
            "CreateUserPool": {"Fn::Equals": [{"Ref": "CreateUserPool"}, "true"]},
            "NoUserPool": {"Fn::Not": [{"Condition": "CreateUserPool"}]},
        },
        "Resources": {"Pool": {"Type": "AWS::Cognito::UserPool", "Condition": "CreateUserPool", "Properties": {}}},
    }
    check_resource_types(template)  # CreateUserPool is false by default: nothing unsupported to create
    with pytest.raises(TemplateError, match="Pool: resource type AWS::Cognito::UserPool is not supported"):
        check_resource_types(template, {"CreateUserPool": "true"})
    template["Resources"]["Pool"]["Condition"] = "NoUserPool"
    with pytest.raises(TemplateError, match="not supported"):
        check_resource_types(template)
