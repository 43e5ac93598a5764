"""Unit-test fixtures: moto in-process with the pipeline's resources, for calling handlers directly."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from localaws.config import ACCOUNT_ID, REGION


@pytest.fixture
def moto_resources(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The queue, DLQ, table, topic and a (non-executing) state machine in moto, with the Lambda environment set."""
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        import boto3

        sqs = boto3.client("sqs")
        queue_url = sqs.create_queue(QueueName="orders")["QueueUrl"]
        topic_arn = boto3.client("sns").create_topic(Name="order-notifications")["TopicArn"]
        outbox_url = sqs.create_queue(QueueName="outbox")["QueueUrl"]
        outbox_arn = sqs.get_queue_attributes(QueueUrl=outbox_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        boto3.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=outbox_arn)
        boto3.client("dynamodb").create_table(
            TableName="order-payments",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        boto3.client("dynamodb").create_table(
            TableName="queued-orders",
            KeySchema=[
                {"AttributeName": "queue", "KeyType": "HASH"},
                {"AttributeName": "order_id", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "queue", "AttributeType": "S"},
                {"AttributeName": "order_id", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        state_machine_arn = boto3.client("stepfunctions").create_state_machine(
            name="order-workflow",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/order-workflow",
        )["stateMachineArn"]
        env = {
            "ORDERS_STATE_MACHINE_ARN": state_machine_arn,
            "PAYMENTS_TABLE_NAME": "order-payments",
            "QUEUED_ORDERS_TABLE_NAME": "queued-orders",
            "NOTIFICATIONS_TOPIC_ARN": topic_arn,
            "POWERTOOLS_SERVICE_NAME": "order-pipeline",
            "POWERTOOLS_METRICS_NAMESPACE": "OrderPipeline",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        yield {"queue_url": queue_url, "outbox_url": outbox_url, **env}
    os.environ.pop("AWS_ENDPOINT_URL_LAMBDA", None)
