"""The local AWS deploys infra/template.yaml: what runs is what the template declares, the app finds it through the
stack's outputs, AWS's own CLI sees it on the one endpoint, a template change takes effect, a broken one is named."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from backend import aws
from localaws import instance
from localaws.stack import load_template
from tests.conftest import PROJECT_ROOT, aws_cli_path, local_env_shell, order_request, poll

TEMPLATE = load_template(PROJECT_ROOT / "infra" / "template.yaml")
_FUNCTION_OUTPUTS = {
    "StartOrderFunction": "StartOrderFunctionName",
    "ValidateOrderFunction": "ValidateOrderFunctionName",
    "ProcessPaymentFunction": "ProcessPaymentFunctionName",
    "SendNotificationFunction": "SendNotificationFunctionName",
}


@pytest.fixture(scope="module")
def stack(local_aws: Any) -> dict[str, Any]:
    connection = aws.connection()
    (described,) = aws.client("cloudformation").describe_stacks(StackName=connection.stack_name)["Stacks"]
    summaries = aws.client("cloudformation").list_stack_resources(StackName=connection.stack_name)
    return {
        "name": connection.stack_name,
        "status": described["StackStatus"],
        "outputs": {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]},
        "resources": {r["LogicalResourceId"]: r for r in summaries["StackResourceSummaries"]},
    }


def test_the_stack_is_deployed_with_every_output_and_the_app_reads_them(stack: dict[str, Any]) -> None:
    assert stack["status"] == "CREATE_COMPLETE"
    # Outputs with a condition (the optional Cognito sign-in) are absent with the default parameters.
    assert set(stack["outputs"]) == {key for key, output in TEMPLATE["Outputs"].items() if "Condition" not in output}
    resources = aws.resources()
    assert resources.orders_queue_url == stack["outputs"]["OrdersQueueUrl"]
    assert resources.state_machine_arn == stack["outputs"]["OrderWorkflowArn"]
    assert resources.function_names["start_order"] == f"{stack['name']}-start-order"


def test_functions_run_as_the_template_declares(stack: dict[str, Any]) -> None:
    lambda_api = aws.client("lambda")
    globals_ = TEMPLATE["Globals"]["Function"]
    for logical_id, output in _FUNCTION_OUTPUTS.items():
        declared = TEMPLATE["Resources"][logical_id]["Properties"]
        config = lambda_api.get_function_configuration(FunctionName=stack["outputs"][output])
        assert config["Handler"] == declared["Handler"]
        assert config["Timeout"] == declared["Timeout"]
        assert config["MemorySize"] == globals_["MemorySize"]
        assert config["Runtime"] == globals_["Runtime"]
        assert config["LoggingConfig"]["LogFormat"] == declared["LoggingConfig"]["LogFormat"]
        variables = config["Environment"]["Variables"]
        expected = set(globals_["Environment"]["Variables"]) | set(declared.get("Environment", {}).get("Variables", {}))
        assert set(variables) == expected
    env = lambda_api.get_function_configuration(FunctionName=stack["outputs"]["StartOrderFunctionName"])
    assert env["Environment"]["Variables"]["ORDERS_STATE_MACHINE_ARN"] == stack["outputs"]["OrderWorkflowArn"]


def test_the_event_source_mapping_is_the_templates(stack: dict[str, Any]) -> None:
    declared = TEMPLATE["Resources"]["StartOrderFunction"]["Properties"]["Events"]["Orders"]["Properties"]
    (mapping,) = aws.client("lambda").list_event_source_mappings(
        FunctionName=stack["outputs"]["StartOrderFunctionName"]
    )["EventSourceMappings"]
    assert mapping["State"] == "Enabled"
    assert mapping["BatchSize"] == declared["BatchSize"]
    assert mapping["FunctionResponseTypes"] == declared["FunctionResponseTypes"]
    maximum = TEMPLATE["Parameters"]["StartOrderMaximumConcurrency"]["Default"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": maximum}
    assert mapping["MaximumBatchingWindowInSeconds"] == 0  # the test session's parameter override


def test_queues_state_machine_log_groups_and_alarms(stack: dict[str, Any]) -> None:
    outputs, resources = stack["outputs"], TEMPLATE["Resources"]
    sqs = aws.client("sqs")
    queue = sqs.get_queue_attributes(QueueUrl=outputs["OrdersQueueUrl"], AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_attributes(QueueUrl=outputs["OrdersDeadLetterQueueUrl"], AttributeNames=["All"])["Attributes"]
    declared_redrive = resources["OrdersQueue"]["Properties"]["RedrivePolicy"]
    assert json.loads(queue["RedrivePolicy"]) == {
        "deadLetterTargetArn": dlq["QueueArn"],
        "maxReceiveCount": declared_redrive["maxReceiveCount"],
    }
    assert (
        int(dlq["MessageRetentionPeriod"]) == resources["OrdersDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"]
    )

    machine = aws.client("stepfunctions").describe_state_machine(stateMachineArn=outputs["OrderWorkflowArn"])
    assert machine["type"] == "STANDARD"
    assert "${" not in machine["definition"]
    lambda_api = aws.client("lambda")
    invoked = {
        state["Parameters"]["FunctionName"]
        for state in json.loads(machine["definition"])["States"].values()
        if state.get("Resource") == "arn:aws:states:::lambda:invoke"
    }
    assert invoked == {
        lambda_api.get_function_configuration(FunctionName=outputs[key])["FunctionArn"]
        for key in ("ValidateOrderFunctionName", "ProcessPaymentFunctionName", "SendNotificationFunctionName")
    }

    groups = aws.client("logs").describe_log_groups()["logGroups"]
    retention = {group["logGroupName"]: group.get("retentionInDays") for group in groups}
    default_retention = TEMPLATE["Parameters"]["LogRetentionInDays"]["Default"]
    assert retention[f"/aws/lambda/{stack['name']}-start-order"] == default_retention
    assert retention[outputs["AuditLogGroupName"]] == resources["AuditLogGroup"]["Properties"]["RetentionInDays"]

    declared_alarms = {k for k, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    alarms = aws.client("cloudwatch").describe_alarms()["MetricAlarms"]
    by_logical_id = {a["AlarmName"].split("-")[2]: a for a in alarms if a["AlarmName"].startswith(stack["name"])}
    assert set(by_logical_id) == declared_alarms
    dlq_alarm = by_logical_id["DeadLetterQueueNotEmptyAlarm"]
    assert (dlq_alarm["MetricName"], dlq_alarm["Threshold"], dlq_alarm["Period"]) == (
        "ApproximateNumberOfMessagesVisible",
        0,
        60,
    )
    assert dlq_alarm["Dimensions"] == [{"Name": "QueueName", "Value": dlq["QueueArn"].split(":")[-1]}]


def test_the_aws_cli_sees_the_stack_on_the_one_endpoint(stack: dict[str, Any], tmp_path: Path) -> None:
    cli = aws_cli_path()
    environment = local_env_shell()

    def aws_cli(*args: str) -> Any:
        run = subprocess.run([str(cli), *args, "--output", "json"], env=environment, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout) if run.stdout.strip() else None

    assert environment["ORDERS_STACK_NAME"] == stack["name"]
    (described,) = aws_cli("cloudformation", "describe-stacks", "--stack-name", stack["name"])["Stacks"]
    assert described["StackStatus"] == "CREATE_COMPLETE"
    names = {f["FunctionName"] for f in aws_cli("lambda", "list-functions")["Functions"]}
    assert {stack["outputs"][key] for key in _FUNCTION_OUTPUTS.values()} <= names
    validate = stack["outputs"]["ValidateOrderFunctionName"]
    answer = aws_cli("lambda", "invoke", "--function-name", validate, "--payload", "{}", str(tmp_path / "out.json"))
    assert answer["StatusCode"] == 200
    assert answer["FunctionError"] == "Unhandled"
    assert json.loads((tmp_path / "out.json").read_text())["errorType"] == "OrderInvalid"
    mappings = aws_cli("lambda", "list-event-source-mappings")["EventSourceMappings"]
    assert any(m["FunctionArn"].endswith(stack["outputs"]["StartOrderFunctionName"]) for m in mappings)
    machine = aws_cli(
        "stepfunctions", "describe-state-machine", "--state-machine-arn", stack["outputs"]["OrderWorkflowArn"]
    )
    assert machine["status"] == "ACTIVE"


def test_the_sam_cli_and_boto3_work_with_the_env_exports(stack: dict[str, Any], tmp_path: Path) -> None:
    """`eval "$(python -m backend local --env)"` is all AWS's own tools need: endpoint, region, credentials."""
    environment = local_env_shell() | {"SAM_CLI_TELEMETRY": "0", "HOME": str(tmp_path)}
    sam = aws_cli_path().with_name("sam")
    listed = subprocess.run(
        [str(sam), "list", "stack-outputs", "--stack-name", stack["name"], "--output", "json"],
        env=environment, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert {item["OutputKey"] for item in json.loads(listed.stdout)} >= set(_FUNCTION_OUTPUTS.values())
    invoked = subprocess.run(
        [str(sam), "remote", "invoke", "--stack-name", stack["name"], "ValidateOrderFunction", "--event", "{}"],
        env=environment, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "OrderInvalid" in invoked.stdout + invoked.stderr
    script = "import sys, boto3; print(boto3.client('lambda').get_function(FunctionName=sys.argv[1])['Configuration'])"
    role = subprocess.run(
        [sys.executable, "-c", script, stack["outputs"]["ValidateOrderFunctionName"]],
        env=environment, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert role.returncode == 0, role.stderr
    assert ":role/" in role.stdout  # boto3 found the endpoint, region and credentials in the environment


def _template_copy(tmp_path: Path, edit: dict[str, str]) -> Path:
    """A copy of infra/template.yaml with edits, beside links to what it refers to by relative path."""
    (tmp_path / "infra").mkdir()
    text = (PROJECT_ROOT / "infra" / "template.yaml").read_text()
    for old, new in edit.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    (tmp_path / "infra" / "template.yaml").write_text(text)
    (tmp_path / "infra" / "Makefile").symlink_to(PROJECT_ROOT / "infra" / "Makefile")
    (tmp_path / "lambdas").symlink_to(PROJECT_ROOT / "lambdas")
    shutil.copy(PROJECT_ROOT / "workflow.asl.json", tmp_path / "workflow.asl.json")
    return tmp_path / "infra" / "template.yaml"


@pytest.fixture
def other_local_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Start a second local AWS (own state folder and port) from a given template; stop it afterwards."""
    started: list[Path] = []

    def start(template: Path) -> instance.LocalAwsInfo:
        state = tmp_path / f"state-{len(started)}"
        started.append(state)
        monkeypatch.setenv("ORDERS_LOCAL_STATE_DIR", str(state))
        monkeypatch.setenv("ORDERS_LOCAL_TEMPLATE", str(template))
        return instance.ensure_running()

    yield start
    for state in started:
        monkeypatch.setenv("ORDERS_LOCAL_STATE_DIR", str(state))
        instance.stop_running()


def _client(info: instance.LocalAwsInfo, service: str) -> Any:
    """A client of the local AWS this test started last, signing with that instance's own credentials."""
    import boto3

    own = instance.credentials()
    return boto3.client(
        service, endpoint_url=info.endpoint, region_name=info.region,
        aws_access_key_id=own.access_key_id, aws_secret_access_key=own.secret_access_key,
    )  # fmt: skip


def test_a_template_change_takes_effect_with_no_other_edit(tmp_path: Path, other_local_aws: Any) -> None:
    template = _template_copy(
        tmp_path,
        {"            BatchSize: 10\n": "            BatchSize: 3\n", "      Timeout: 30\n": "      Timeout: 20\n"},
    )
    info = other_local_aws(template)
    (described,) = _client(info, "cloudformation").describe_stacks(StackName=info.stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    start_order = outputs["StartOrderFunctionName"]
    lambda_api = _client(info, "lambda")
    assert lambda_api.get_function_configuration(FunctionName=start_order)["Timeout"] == 20
    (mapping,) = lambda_api.list_event_source_mappings(FunctionName=start_order)["EventSourceMappings"]
    assert mapping["BatchSize"] == 3
    # And it is what runs: 9 orders arrive together, and no start_order invocation gets more than 3 of them.
    from lambdas.domain.order import Order

    orders = [Order.place(order_request()) for _ in range(9)]
    _client(info, "sqs").send_message_batch(
        QueueUrl=outputs["OrdersQueueUrl"],
        Entries=[{"Id": str(i), "MessageBody": order.model_dump_json()} for i, order in enumerate(orders[:9])],
    )
    logs = _client(info, "logs")

    def started_per_invocation() -> dict[str, int] | None:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{start_order}", filterPattern="started")["events"]
        counts: dict[str, int] = {}
        for event in events:
            line = json.loads(event["message"])
            counts[line["function_request_id"]] = counts.get(line["function_request_id"], 0) + 1
        return counts if sum(counts.values()) == len(orders) else None

    counts = poll(started_per_invocation, timeout=40, what="every order started")
    assert max(counts.values()) <= 3
    assert len(counts) >= 3


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"Handler: lambdas.start_order.handler": "Handler: lambdas.no_such_module.handler"},
         r"StartOrderFunction \(orders-local-start-order\): the handler does not start: Runtime.ImportModuleError"),
        ({"DefinitionSubstitutions:\n        ValidateOrderFunctionArn": "DefinitionSubstitutions:\n        Validate"},
         r"OrderWorkflow: the definition uses \$\{ValidateOrderFunctionArn\}"),
        ({"Type: AWS::SQS::Queue\n": "Type: AWS::SQS::Queu\n"},
         r"OrdersDeadLetterQueue: resource type AWS::SQS::Queu is not supported"),
        ({"Resources:\n": "Resources:\n  - broken: [\n"}, r"template.yaml: invalid YAML at line \d+"),
    ],
    ids=["handler-does-not-import", "missing-substitution", "unknown-type", "invalid-yaml"],
)  # fmt: skip
def test_a_broken_template_stops_the_start_with_a_message_naming_the_resource(
    tmp_path: Path, other_local_aws: Any, edit: dict[str, str], message: str
) -> None:
    with pytest.raises(instance.LocalAwsError, match=message) as raised:
        other_local_aws(_template_copy(tmp_path, edit))
    assert "Traceback" not in str(raised.value)


def test_the_app_shows_the_same_message_as_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    template = _template_copy(tmp_path, {"Type: AWS::SQS::Queue\n": "Type: AWS::SQS::Queu\n"})
    monkeypatch.setenv("ORDERS_LOCAL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("ORDERS_LOCAL_TEMPLATE", str(template))
    aws.reset()
    st.cache_data.clear()
    try:
        # The run starts a local AWS (which refuses the template): a minute or more on a loaded machine.
        app = AppTest.from_file(str(PROJECT_ROOT / "streamlit_app.py"), default_timeout=180).run()
        shown = " ".join(str(element.value) for element in app.error).replace("\\", "")
    finally:
        aws.reset()  # the next test reconnects to the session's local AWS
        st.cache_data.clear()
    assert (
        "The local AWS is not available: OrdersDeadLetterQueue: resource type AWS::SQS::Queu is not supported" in shown
    )
