"""The embedded local AWS: moto on a loopback port, our Lambda runtime, the SQS event source and AWS's own telemetry."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.local.functions import ACCOUNT_ID, FUNCTIONS, REGION, START_ORDER, definition_substitutions

WORKFLOW_PATH = Path(__file__).resolve().parents[2] / "workflow.asl.json"
ORDERS_QUEUE = "orders"
DEAD_LETTER_QUEUE = "orders-dlq"
STATE_MACHINE = "order-workflow"
NOTIFICATIONS_TOPIC = "order-notifications"
PAYMENTS_TABLE = "order-payments"
MAX_RECEIVE_COUNT = 3
_log = logging.getLogger(__name__)


class LocalAwsOptions(BaseSettings):
    """Knobs of the local AWS, from ORDERS_LOCAL_* variables; the defaults suit a demo."""

    model_config = SettingsConfigDict(env_prefix="ORDERS_LOCAL_", extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=4599, ge=0, le=65535)
    visibility_timeout_seconds: int = Field(default=10, ge=1, le=43_200)
    max_finished_executions: int = Field(default=5_000, ge=100)
    max_log_events_per_stream: int = Field(default=2_000, ge=100)
    payment_failure_rate: float = Field(default=0.0, ge=0.0, le=1.0)


def render_workflow(substitutions: dict[str, str]) -> str:
    """The ASL with its ${...} placeholders filled, as SAM's DefinitionSubstitutions does."""
    definition = WORKFLOW_PATH.read_text()
    for key, value in substitutions.items():
        definition = definition.replace("${" + key + "}", value)
    return definition


def _lambda_environment(resources: dict[str, Any], options: LocalAwsOptions) -> dict[str, str]:
    return {
        "ORDERS_STATE_MACHINE_ARN": resources["state_machine_arn"],
        "PAYMENTS_TABLE_NAME": resources["payments_table_name"],
        "NOTIFICATIONS_TOPIC_ARN": resources["notifications_topic_arn"],
        "PAYMENT_TRANSIENT_FAILURE_RATE": str(options.payment_failure_rate),
        "POWERTOOLS_SERVICE_NAME": "order-pipeline",
        "POWERTOOLS_METRICS_NAMESPACE": "OrderPipeline",
    }


class LocalAws:
    """One running local AWS. start() brings everything up; stop() takes it down."""

    def __init__(self, options: LocalAwsOptions | None = None) -> None:
        self.options = options or LocalAwsOptions()
        self.endpoint = ""
        self.resources: dict[str, Any] = {}
        self._stop = threading.Event()
        self._parts: list[Any] = []
        self._telemetry: Any = None

    def start(self) -> None:
        """Start moto, the Lambda runtime, resources, the SQS poller and telemetry."""
        os.environ.update(
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",  # noqa: S106 - moto accepts any key; nothing real
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
        )
        from moto import mock_aws
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer

        from backend.local import moto_patches

        moto_patches.apply()
        mock = mock_aws(
            config={
                "stepfunctions": {"execute_state_machine": True},
                "core": {"passthrough": {"services": ["lambda"], "urls": []}},
            }
        )
        mock.start()
        self._parts.append(mock)

        import boto3

        from backend.local.event_source import SqsEventSource
        from backend.local.lambda_runtime import LocalLambdaRuntime
        from backend.local.telemetry import Telemetry

        telemetry = Telemetry(boto3.client("logs"), boto3.client("cloudwatch"))
        runtime = LocalLambdaRuntime(FUNCTIONS, on_invocation=telemetry.record_invocation)
        # moto's Step Functions calls Lambda through boto3, which honours this endpoint (lambda is passed through).
        os.environ["AWS_ENDPOINT_URL_LAMBDA"] = runtime.serve(self.options.host)
        self._parts.append(runtime)

        server = ThreadedMotoServer(ip_address=self.options.host, port=self.options.port, verbose=False)
        server.start()
        self._parts.append(server)
        host, port = server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"

        self.resources = self._create_resources()
        os.environ.update(_lambda_environment(self.resources, self.options))
        runtime.warm_up()

        moto_patches.on_execution_started(
            lambda execution: telemetry.record_execution_started(
                execution.state_machine_arn, execution.start_date.timestamp()
            )
        )
        moto_patches.on_execution_finished(
            lambda execution: telemetry.record_execution_finished(
                execution.state_machine_arn,
                execution.status,
                execution.start_date.timestamp(),
                execution.stop_date.timestamp(),
            )
        )
        moto_patches.on_sqs_activity(
            lambda queue, metric, count, at: telemetry.metric(
                "AWS/SQS", metric, count, "Count", {"QueueName": queue}, at
            )
        )
        self._telemetry = telemetry
        telemetry.start()
        self._parts.append(telemetry)

        source = SqsEventSource(
            boto3.client("sqs"),
            self.resources["orders_queue_url"],
            self.resources["orders_queue_arn"],
            runtime,
            START_ORDER,
        )
        source.start()
        self._parts.append(source)
        threading.Thread(target=self._janitor, name="local-aws-janitor", daemon=True).start()

    def _create_resources(self) -> dict[str, Any]:
        import boto3

        sqs = boto3.client("sqs")
        dlq_url = sqs.create_queue(
            QueueName=DEAD_LETTER_QUEUE, Attributes={"MessageRetentionPeriod": str(14 * 24 * 3600)}
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
        queue_url = sqs.create_queue(
            QueueName=ORDERS_QUEUE,
            Attributes={
                "VisibilityTimeout": str(self.options.visibility_timeout_seconds),
                "RedrivePolicy": json.dumps(redrive),
            },
        )["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

        topic_arn = boto3.client("sns").create_topic(Name=NOTIFICATIONS_TOPIC)["TopicArn"]
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName=PAYMENTS_TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.update_time_to_live(
            TableName=PAYMENTS_TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"}
        )
        state_machine_arn = boto3.client("stepfunctions").create_state_machine(
            name=STATE_MACHINE,
            definition=render_workflow(definition_substitutions()),
            roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{STATE_MACHINE}",
            type="STANDARD",
        )["stateMachineArn"]
        return {
            "orders_queue_url": queue_url,
            "orders_queue_arn": queue_arn,
            "dead_letter_queue_url": dlq_url,
            "state_machine_arn": state_machine_arn,
            "notifications_topic_arn": topic_arn,
            "payments_table_name": PAYMENTS_TABLE,
            "function_names": {spec.handler.split(".")[1]: spec.name for spec in FUNCTIONS},
        }

    def _janitor(self) -> None:
        """Keep memory bounded: moto keeps every finished execution (~33 KB each) and every log line forever."""
        from backend.local import moto_patches

        while not self._stop.wait(5):
            try:
                moto_patches.prune_finished_executions(self.options.max_finished_executions)
                moto_patches.prune_log_events(self.options.max_log_events_per_stream)
            except Exception:
                _log.exception("pruning the local AWS failed")
            try:
                self._publish_queue_ages()
            except Exception:
                _log.exception("publishing queue ages failed")

    def _publish_queue_ages(self) -> None:
        """AWS/SQS ApproximateAgeOfOldestMessage per queue, as AWS publishes it (here every janitor pass)."""
        from backend.local import moto_patches

        if self._telemetry is None:
            return
        now = time.time()
        for queue, age in moto_patches.oldest_message_ages().items():
            self._telemetry.metric(
                "AWS/SQS", "ApproximateAgeOfOldestMessage", age, "Seconds", {"QueueName": queue}, now
            )

    def stop(self) -> None:
        """Stop everything started, newest first."""
        self._stop.set()
        for part in reversed(self._parts):
            started = time.monotonic()
            try:
                part.stop() if hasattr(part, "stop") else part.close()
            except Exception:
                _log.exception("stopping %s failed", type(part).__name__)
            _log.info("stopped %s in %.2f s", type(part).__name__, time.monotonic() - started)
        self._parts.clear()
