"""The clients of Task states: one boto3 client per endpoint and credentials, reused, instead of one per state run;
Lambda's Invoke answered in this process when the Lambda service offers it (route_lambda_invocations)."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from localaws.services.patches import Correction, Kind

if TYPE_CHECKING:
    from botocore.client import BaseClient

_BOTO_CLIENT = "moto.stepfunctions.parser.asl.utils.boto_client:boto_client_for"
# Every module of moto 5.2.5 that does `from ...boto_client import boto_client_for` (found by grepping the parser
# package); each holds its own reference, so each must be rebound.
BOTO_CLIENT_USERS = tuple(
    "moto.stepfunctions.parser.asl.component.state.exec." + name
    for name in (
        "state_map.result_writer.resource_eval.resource_eval_s3",
        "state_map.item_reader.eval.resource_eval_s3",
        "state_task.lambda_eval_utils",
        "state_task.service.state_task_service_aws_sdk",
        "state_task.service.state_task_service_batch",
        "state_task.service.state_task_service_dynamodb",
        "state_task.service.state_task_service_ecs",
        "state_task.service.state_task_service_events",
        "state_task.service.state_task_service_glue",
        "state_task.service.state_task_service_sfn",
        "state_task.service.state_task_service_sns",
        "state_task.service.state_task_service_sqs",
        "state_task.service.state_task_service_unsupported",
    )
)

_client_cache: dict[tuple[Any, ...], Any] = {}  # botocore clients, Lambda's routed
_client_cache_lock = threading.Lock()
_lambda_invoke: list[Callable[[str, dict[str, Any]], dict[str, Any]]] = []


def route_lambda_invocations(invoke: Callable[[str, dict[str, Any]], dict[str, Any]] | None) -> None:
    """Answer the Lambda Invoke calls of Task states with invoke(region, Invoke's parameters) -> Invoke's output (or
    botocore's ClientError), as botocore's client answers them; None: through the client again."""
    _lambda_invoke[:] = [invoke] if invoke is not None else []


class _RoutedLambdaClient:
    """A Task state's Lambda client whose Invoke is answered in-process: botocore's client path (serialise, sign, emit
    events, parse) was 13 % of the local AWS's busy time under load. Other calls go to the client."""

    def __init__(self, region: str, client: BaseClient) -> None:
        self._region = region
        self._client = client

    def invoke(self, **parameters: Any) -> dict[str, Any]:
        if not _lambda_invoke:
            return self._client.invoke(**parameters)
        return _lambda_invoke[0](self._region, parameters)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


task_clients = Correction(
    "Step Functions task clients",
    Kind.FIX,
    "moto's interpreter builds a new boto3 client (and TCP connection) for every Task state it runs: ~15% of CPU "
    "under load. Clients are cached per everything that chooses their endpoint and credentials.",
)
task_clients.expects("moto.core.models:botocore_stubber")


@task_clients.check
def _stubber_has_a_flag() -> str | None:
    from moto.core.models import botocore_stubber

    return None if hasattr(botocore_stubber, "enabled") else "moto.core.models.botocore_stubber has no 'enabled' flag"


@task_clients.check
def _every_user_is_listed() -> str | None:
    import importlib

    from moto.stepfunctions.parser.asl.utils import boto_client

    for name in BOTO_CLIENT_USERS:
        importlib.import_module(name)
    for name, module in list(sys.modules.items()):
        held = getattr(module, "__dict__", {}).get("boto_client_for")
        listed = module is boto_client or name in BOTO_CLIENT_USERS
        if name.startswith("moto.") and held is boto_client.boto_client_for and not listed:
            return f"{name} imports boto_client_for by name but is not among the modules rebound"
    return None


def _credentials_key(state_credentials: Any) -> Any:
    # StateCredentials is a non-frozen dataclass, hence unhashable; its repr holds every field.
    try:
        hash(state_credentials)
    except TypeError:
        return (type(state_credentials).__qualname__, repr(state_credentials))
    return state_credentials


def _endpoint_env() -> tuple[tuple[str, str], ...]:
    # boto3 resolves AWS_ENDPOINT_URL[_<SERVICE>] when creating a client: a change must yield a new client.
    return tuple(
        sorted(
            (key, value)
            for key, value in os.environ.items()
            if key.startswith("AWS_ENDPOINT_URL") or key == "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
        )
    )


@task_clients.replaces(_BOTO_CLIENT, params=["region", "service", "state_credentials"], also_in=BOTO_CLIENT_USERS)
def boto_client_for(original: Any, region: str, service: str, state_credentials: Any = None) -> Any:
    from moto.core.models import botocore_stubber

    # Everything the original reads when building the client is part of the key: the stubber flag and MOTO_PORT
    # choose endpoint_url, the environment supplies per-service endpoints.
    key = (
        region,
        service,
        _credentials_key(state_credentials),
        bool(botocore_stubber.enabled),
        os.environ.get("MOTO_PORT"),
        _endpoint_env(),
    )
    client = _client_cache.get(key)
    if client is None:
        # One creator at a time: boto3's default session is not safe to build clients from concurrently, and this
        # way each key gets exactly one client.
        with _client_cache_lock:
            client = _client_cache.get(key)
            if client is None:
                client = original(region, service, state_credentials)
                if service == "lambda":
                    client = _RoutedLambdaClient(region, client)
                _client_cache[key] = client
    return client
