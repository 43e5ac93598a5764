"""Settings of the local AWS, from ORDERS_LOCAL_* environment variables; the defaults suit a demo."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's fixed fake account: nothing real


class LocalAwsOptions(BaseSettings):
    """ORDERS_LOCAL_* variables."""

    model_config = SettingsConfigDict(env_prefix="ORDERS_LOCAL_", extra="ignore", frozen=True)

    host: str = "127.0.0.1"  # an IP address; loopback unless allow_non_loopback
    port: int = Field(default=4599, ge=0, le=65535)
    # Serving an address other machines reach puts the instance's credentials' worth on the network: explicit only.
    allow_non_loopback: bool = False
    # Web origins whose requests are let in (each still needs a signature); none by default: no web page gets in.
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = ()
    template: Path = PROJECT_ROOT / "infra" / "template.yaml"
    stack_name: str = Field(default="orders-local", pattern=r"^[A-Za-z][A-Za-z0-9-]{0,45}$")
    parameters: str = ""  # sam deploy's --parameter-overrides syntax: "Key=Value Key2=Value2"
    lambda_concurrency: int = Field(default_factory=lambda: max(2, os.cpu_count() or 2), ge=1, le=64)
    max_running_executions: int = Field(default=100, ge=1)  # interpreting at once; more wait, still RUNNING
    max_finished_executions: int = Field(default=2_000, ge=100)  # with full detail (history, input, output)
    max_execution_records: int = Field(default=50_000, ge=100)  # in all: the rest keep their outcome only
    retention_hours: float = Field(default=24, gt=0, le=24 * 14)  # outcomes, metrics and logs beyond are dropped
    max_log_events_per_stream: int = Field(default=2_000, ge=100)

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _loopback_unless_allowed(self) -> LocalAwsOptions:
        try:
            address = ipaddress.ip_address(self.host)
        except ValueError:
            raise ValueError(
                f"ORDERS_LOCAL_HOST={self.host!r} is not an IP address (127.0.0.1 is the default)"
            ) from None
        if not address.is_loopback and not self.allow_non_loopback:
            raise ValueError(
                f"ORDERS_LOCAL_HOST={self.host} is reachable from other machines; the local AWS serves a loopback "
                "address unless ORDERS_LOCAL_ALLOW_NON_LOOPBACK=true says otherwise (read the README's warning first)"
            )
        return self
