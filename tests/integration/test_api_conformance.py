"""The local AWS answers as the AWS API does, in botocore's own model of it: every field of the raw response of the
operations the project, its README and the common read paths use is a member of the modelled output, with the
modelled type, and enum values from the model."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from backend import aws
from tests.conformance.plugins.response_shapes import problems

Call = Callable[[dict[str, Any]], dict[str, Any]]  # the stack's outputs and resources -> the operation's parameters


def _outputs(stack: dict[str, Any], key: str) -> str:
    return stack["outputs"][key]


def _an_execution(stack: dict[str, Any]) -> str:
    executions = aws.client("stepfunctions").list_executions(stateMachineArn=_outputs(stack, "OrderWorkflowArn"))
    return executions["executions"][0]["executionArn"]


OPERATIONS: list[tuple[str, str, Call]] = [
    ("cloudformation", "describe_stacks", lambda s: {"StackName": s["name"]}),
    ("cloudformation", "list_stack_resources", lambda s: {"StackName": s["name"]}),
    ("cloudformation", "describe_stack_resources", lambda s: {"StackName": s["name"]}),
    ("cloudformation", "describe_stack_events", lambda s: {"StackName": s["name"]}),
    ("cloudformation", "list_stacks", lambda s: {}),
    ("lambda", "list_functions", lambda s: {}),
    ("lambda", "get_function", lambda s: {"FunctionName": _outputs(s, "StartOrderFunctionName")}),
    ("lambda", "get_function_configuration", lambda s: {"FunctionName": _outputs(s, "ProcessPaymentFunctionName")}),
    ("lambda", "list_event_source_mappings", lambda s: {}),
    ("lambda", "invoke", lambda s: {"FunctionName": _outputs(s, "ValidateOrderFunctionName"), "Payload": b"{}"}),
    ("stepfunctions", "list_state_machines", lambda s: {}),
    ("stepfunctions", "describe_state_machine", lambda s: {"stateMachineArn": _outputs(s, "OrderWorkflowArn")}),
    ("stepfunctions", "list_executions", lambda s: {"stateMachineArn": _outputs(s, "OrderWorkflowArn")}),
    ("stepfunctions", "describe_execution", lambda s: {"executionArn": _an_execution(s)}),
    ("stepfunctions", "get_execution_history", lambda s: {"executionArn": _an_execution(s)}),
    ("sqs", "list_queues", lambda s: {}),
    ("sqs", "get_queue_attributes", lambda s: {"QueueUrl": _outputs(s, "OrdersQueueUrl"), "AttributeNames": ["All"]}),
    ("sqs", "receive_message", lambda s: {"QueueUrl": _outputs(s, "OrdersDeadLetterQueueUrl"), "VisibilityTimeout": 0}),
    ("logs", "describe_log_groups", lambda s: {}),
    ("logs", "filter_log_events", lambda s: {"logGroupName": f"/aws/lambda/{_outputs(s, 'StartOrderFunctionName')}"}),
    ("dynamodb", "describe_table", lambda s: {"TableName": _outputs(s, "PaymentsTableName")}),
    ("dynamodb", "list_tables", lambda s: {}),
    ("sns", "list_topics", lambda s: {}),
    ("sns", "get_topic_attributes", lambda s: {"TopicArn": _outputs(s, "NotificationsTopicArn")}),
    ("iam", "list_roles", lambda s: {}),
    # What the app and the functions write, on scratch resources of this test.
    ("sqs", "send_message_batch", lambda s: {"QueueUrl": s["queue"], "Entries": [{"Id": "1", "MessageBody": "a"}]}),
    ("sqs", "change_message_visibility_batch", lambda s: {"QueueUrl": s["queue"], "Entries": _handles(s, 0)}),
    ("sqs", "delete_message_batch", lambda s: {"QueueUrl": s["queue"], "Entries": _handles(s, None)}),
    ("sqs", "purge_queue", lambda s: {"QueueUrl": s["queue"]}),
    ("stepfunctions", "start_execution", lambda s: {"stateMachineArn": s["machine"], "name": uuid.uuid4().hex}),
    ("stepfunctions", "stop_execution", lambda s: {"executionArn": _execution(s), "error": "E", "cause": "C"}),
    ("stepfunctions", "redrive_execution", lambda s: {"executionArn": _execution(s, stopped=True)}),
    ("logs", "create_log_stream", lambda s: {"logGroupName": s["log_group"], "logStreamName": uuid.uuid4().hex}),
    (
        "logs",
        "put_log_events",
        lambda s: {
            "logGroupName": s["log_group"],
            "logStreamName": _log_stream(s),
            "logEvents": [{"timestamp": int(time.time() * 1000), "message": "m"}],
        },
    ),
    ("logs", "get_log_events", lambda s: {"logGroupName": s["log_group"], "logStreamName": _log_stream(s)}),
    ("sns", "publish", lambda s: {"TopicArn": s["topic"], "Message": "m"}),
    ("dynamodb", "put_item", lambda s: {"TableName": s["table"], "Item": {"id": {"S": "a"}}}),
    (
        "dynamodb",
        "update_item",
        lambda s: {
            "TableName": s["table"],
            "Key": {"id": {"S": "a"}},
            "UpdateExpression": "SET n = :n",
            "ExpressionAttributeValues": {":n": {"N": "1"}},
        },
    ),
    ("dynamodb", "get_item", lambda s: {"TableName": s["table"], "Key": {"id": {"S": "a"}}}),
]


def _execution(stack: dict[str, Any], stopped: bool = False) -> str:
    sfn = aws.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=stack["machine"], name=uuid.uuid4().hex)["executionArn"]
    if stopped:
        sfn.stop_execution(executionArn=arn)
    return arn


def _log_stream(stack: dict[str, Any]) -> str:
    name = uuid.uuid4().hex
    aws.client("logs").create_log_stream(logGroupName=stack["log_group"], logStreamName=name)
    return name


def _handles(stack: dict[str, Any], visibility: int | None) -> list[dict[str, Any]]:
    sqs = aws.client("sqs")
    sqs.send_message(QueueUrl=stack["queue"], MessageBody="b")
    messages = sqs.receive_message(QueueUrl=stack["queue"], MaxNumberOfMessages=10, VisibilityTimeout=30)["Messages"]
    extra = {} if visibility is None else {"VisibilityTimeout": visibility}
    return [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], **extra} for i, m in enumerate(messages)]


@pytest.fixture(scope="module")
def stack(local_aws: Any) -> dict[str, Any]:
    """The deployed stack, after one order went through (so executions, logs and items exist)."""
    import backend
    from tests.conftest import operator_caller, order_request

    (order,) = backend.submit_orders([order_request()], caller=operator_caller())
    backend.wait_for_orders([order.order_id], timeout_seconds=60)
    connection = aws.connection()
    (described,) = aws.client("cloudformation").describe_stacks(StackName=connection.stack_name)["Stacks"]
    sfn = aws.client("stepfunctions")
    waiting = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 60, "End": True}}}
    role = "arn:aws:iam::123456789012:role/conformance"
    machine = sfn.create_state_machine(name="conformance", definition=json.dumps(waiting), roleArn=role)
    aws.client("logs").create_log_group(logGroupName="/conformance")
    aws.client("dynamodb").create_table(
        TableName="conformance",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return {
        "name": connection.stack_name,
        "outputs": {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]},
        "queue": aws.client("sqs").create_queue(QueueName="conformance")["QueueUrl"],
        "machine": machine["stateMachineArn"],
        "log_group": "/conformance",
        "topic": aws.client("sns").create_topic(Name="conformance")["TopicArn"],
        "table": "conformance",
    }


@pytest.mark.parametrize(("service", "operation", "parameters"), OPERATIONS, ids=[f"{s}.{o}" for s, o, _ in OPERATIONS])
def test_the_raw_answer_fits_botocores_model(
    stack: dict[str, Any], service: str, operation: str, parameters: Call
) -> None:
    import boto3

    from localaws import instance

    connection, own = aws.connection(), instance.credentials()
    client = boto3.client(
        service,
        endpoint_url=connection.endpoint_url,
        region_name=connection.region,
        aws_access_key_id=own.access_key_id,
        aws_secret_access_key=own.secret_access_key,
    )
    seen: list[tuple[Any, bytes]] = []
    client.meta.events.register(
        "after-call.*.*", lambda http_response, model, **_: seen.append((model, http_response.content))
    )
    getattr(client, operation)(**parameters(stack))
    ((model, body),) = seen
    assert problems(model, body) == []
