"""The one boto3 client factory, and the pipeline's resources in whichever home the app runs."""

from __future__ import annotations

import contextlib
import threading
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from pydantic import BaseModel

from backend import local_aws
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
    "QueuedOrdersTableName": "queued_orders_table_name",
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
    queued_orders_table_name: str | None = None  # None: a stack deployed before the ledger existed
    audit_log_group: str = "/order-pipeline/audit"
    function_names: dict[str, str] = {}


class Connection(BaseModel):
    """Where this process talks to: home, region, the endpoint when it is not AWS's, the stack and its resources."""

    home: Home
    region: str
    endpoint_url: str | None
    stack_name: str
    resources: Resources


class Readiness(BaseModel):
    """Whether this process is connected yet, and whether connecting means starting the local AWS first."""

    ready: bool
    starting_local_aws: bool = False  # the embedded local AWS is starting and deploying its stack


_lock = threading.Lock()
_connection: Connection | None = None
_starting = threading.Lock()
_connecting: threading.Thread | None = None


def connection() -> Connection:
    """The connection of this process; on first use, attaches to (or starts) the local AWS when no stack is named."""
    global _connection
    with _lock:
        if _connection is None:
            _connection = _connect()
        return _connection


def readiness() -> Readiness:
    """Whether connection() would answer at once; when it would not, it starts connecting on a background thread (one
    at a time), so that callers can say what is happening while they wait for connection()."""
    global _connecting
    if _connection is not None:
        return Readiness(ready=True)
    with _starting:
        if _connecting is None or not _connecting.is_alive():
            _connecting = threading.Thread(target=_connect_quietly, name="connect", daemon=True)
            _connecting.start()
    starting_local_aws = settings().embedded and local_aws.running_endpoint() is None
    return Readiness(ready=_connection is not None, starting_local_aws=starting_local_aws)


def _connect_quietly() -> None:
    # Any failure is for the caller's own connection() to raise and explain: this thread only starts the work early.
    with contextlib.suppress(Exception):
        connection()


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
    if config.embedded:
        try:
            local = local_aws.start()
        except local_aws.LocalAwsUnavailable as exc:
            raise BackendError(f"The local AWS is not available: {exc}") from exc
        endpoint_url: str | None = local.endpoint
        region, stack_name = local.region, local.stack_name
    else:
        endpoint_url, region, stack_name = config.endpoint_url, _session().region_name, config.stack_name or ""
        if not region:
            raise BackendError("No AWS region set. Set AWS_REGION (for example eu-west-1).")
    cloudformation = _client("cloudformation", endpoint_url if config.embedded else None, region)
    return Connection(
        home=config.home,
        region=region,
        endpoint_url=endpoint_url,
        stack_name=stack_name,
        resources=_resources_from_stack(cloudformation, stack_name),
    )


def _resources_from_stack(cloudformation: Any, stack_name: str) -> Resources:
    stacks = cloudformation.describe_stacks(StackName=stack_name)
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
    return _client(service, current.endpoint_url if settings().embedded else None, current.region)


def resources() -> Resources:
    """The pipeline's resources in this process's home."""
    return connection().resources


@cache
def _client(service: str, endpoint_url: str | None, region: str) -> Any:
    # The embedded local AWS gets its endpoint and its own credentials here; otherwise the SDK's own settings decide,
    # AWS_ENDPOINT_URL included.
    if endpoint_url:
        own = local_aws.credentials()
        return boto3.client(
            service,
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=own.access_key_id,
            aws_secret_access_key=own.secret_access_key,
            config=_CLIENT_CONFIG,
        )
    return _session().client(service, region_name=region, config=_CLIENT_CONFIG)
