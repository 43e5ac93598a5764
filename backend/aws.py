"""The one boto3 client factory, and the pipeline's resources in whichever home the app runs."""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from pydantic import BaseModel

from backend.errors import BackendError, translated
from backend.settings import Home, settings

_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=3,
    read_timeout=30,
    max_pool_connections=32,
)
# CloudFormation output key -> Resources field.
STACK_OUTPUTS = {
    "OrdersQueueUrl": "orders_queue_url",
    "OrdersDeadLetterQueueUrl": "dead_letter_queue_url",
    "OrderWorkflowArn": "state_machine_arn",
    "NotificationsTopicArn": "notifications_topic_arn",
    "PaymentsTableName": "payments_table_name",
    "AuditLogGroupName": "audit_log_group",
}
STACK_FUNCTION_OUTPUTS = {
    "StartOrderFunctionName": "start_order",
    "ValidateOrderFunctionName": "validate_order",
    "ProcessPaymentFunctionName": "process_payment",
    "SendNotificationFunctionName": "send_notification",
}


class Resources(BaseModel):
    """The pipeline's resources: the same shape whether read from the local AWS or a CloudFormation stack."""

    orders_queue_url: str
    dead_letter_queue_url: str | None = None
    state_machine_arn: str
    notifications_topic_arn: str | None = None
    payments_table_name: str | None = None
    audit_log_group: str = "/order-pipeline/audit"
    function_names: dict[str, str] = {}


class Connection(BaseModel):
    """Where this process talks to: home, region, endpoint (local only) and resources."""

    home: Home
    region: str
    endpoint_url: str | None
    resources: Resources


_lock = threading.Lock()
_connection: Connection | None = None


def connection() -> Connection:
    """The connection of this process; on first use, attaches to (or starts) the local AWS when no AWS is set."""
    global _connection
    with _lock:
        if _connection is None:
            _connection = _connect()
        return _connection


def reset() -> None:
    """Forget the connection and clients (after the local AWS restarted, or settings changed)."""
    global _connection
    with _lock:
        _connection = None
        _client.cache_clear()
        _session.cache_clear()


@cache
def _session() -> boto3.Session:
    return boto3.Session()


@translated
def _connect() -> Connection:
    config = settings()
    if config.home is Home.LOCAL:
        from backend.local import functions, instance

        try:
            info = instance.ensure_running()
        except instance.LocalAwsError as exc:
            raise BackendError(f"The local AWS is not available: {exc}") from exc
        return Connection(
            home=Home.LOCAL,
            region=functions.REGION,
            endpoint_url=info.endpoint,
            resources=Resources.model_validate(info.resources),
        )
    region = _session().region_name
    if not region:
        raise BackendError("No AWS region set. Set AWS_REGION (for example eu-west-1).")
    if config.stack_name:
        resources = _resources_from_stack(config.stack_name)
    else:
        resources = Resources(
            orders_queue_url=config.queue_url or "",
            dead_letter_queue_url=config.dlq_url,
            state_machine_arn=config.workflow_arn or "",
        )
    return Connection(home=Home.AWS, region=region, endpoint_url=None, resources=resources)


def _resources_from_stack(stack_name: str) -> Resources:
    stacks = _session().client("cloudformation", config=_CLIENT_CONFIG).describe_stacks(StackName=stack_name)
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks["Stacks"][0].get("Outputs", [])}
    missing = [key for key in ("OrdersQueueUrl", "OrderWorkflowArn") if key not in outputs]
    if missing:
        raise BackendError(f"Stack {stack_name} has no output {', '.join(missing)}: was it deployed from infra/?")
    fields: dict[str, Any] = {field: outputs[key] for key, field in STACK_OUTPUTS.items() if key in outputs}
    fields["function_names"] = {name: outputs[key] for key, name in STACK_FUNCTION_OUTPUTS.items() if key in outputs}
    return Resources.model_validate(fields)


def client(service: str) -> Any:
    """The boto3 client for a service, pointed at this process's home."""
    current = connection()
    return _client(service, current.endpoint_url, current.region)


def resources() -> Resources:
    """The pipeline's resources in this process's home."""
    return connection().resources


@cache
def _client(service: str, endpoint_url: str | None, region: str) -> Any:
    if endpoint_url:
        return boto3.client(
            service,
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - the local AWS accepts any key
            config=_CLIENT_CONFIG,
        )
    return _session().client(service, region_name=region, config=_CLIENT_CONFIG)
