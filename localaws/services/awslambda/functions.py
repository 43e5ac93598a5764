"""A Lambda function as the runtime needs it, read from moto's Lambda backend (what CloudFormation or CreateFunction
stored)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class FunctionNotFound(LookupError):
    """No function by that name or ARN."""


@dataclass(frozen=True)
class FunctionConfig:
    """What running a function needs, read from moto's Lambda backend."""

    name: str
    arn: str
    handler: str
    runtime: str
    timeout_seconds: int
    memory_mb: int
    environment: dict[str, str]
    reserved_concurrency: int | None
    code_sha256: str
    log_group: str
    log_format: str
    region: str
    role: str  # the execution role's ARN: its workers get its credentials

    @property
    def fingerprint(self) -> tuple[Any, ...]:
        """Changes whenever the function's code or configuration does."""
        return (
            self.handler,
            self.runtime,
            self.timeout_seconds,
            self.memory_mb,
            tuple(sorted(self.environment.items())),
            self.code_sha256,
            self.log_group,
            self.log_format,
            self.role,
        )


def _moto_function(name_or_arn: str, region: str, account_id: str) -> Any:
    from moto.awslambda.models import lambda_backends

    if name_or_arn.startswith("arn:"):
        parts = name_or_arn.split(":")
        region, account_id = parts[3], parts[4]
        name, qualifier = parts[6], (parts[7] if len(parts) > 7 else None)
    else:
        name, _, qualifier = name_or_arn.partition(":")
    try:
        return lambda_backends[account_id][region].get_function(name, qualifier or None)
    except Exception as exc:  # moto raises its own UnknownFunctionException (and others for bad qualifiers)
        raise FunctionNotFound(name_or_arn) from exc


def function_config(name_or_arn: str, region: str, account_id: str) -> tuple[FunctionConfig, bytes]:
    """The function's configuration and code zip; FunctionNotFound if there is none."""
    function = _moto_function(name_or_arn, region, account_id)
    logging_config = getattr(function, "logging_config", None) or {}
    config = FunctionConfig(
        name=function.function_name,
        arn=function.function_arn,
        handler=function.handler or "",
        runtime=function.run_time or "",
        timeout_seconds=int(function.timeout),
        memory_mb=int(function.memory_size),
        environment={str(k): str(v) for k, v in (function.environment_vars or {}).items()},
        reserved_concurrency=function.reserved_concurrency,
        code_sha256=function.code_sha_256,
        log_group=logging_config.get("LogGroup") or f"/aws/lambda/{function.function_name}",
        log_format=logging_config.get("LogFormat") or "Text",
        region=function.region,
        role=function.role,
    )
    return config, function.code_bytes
