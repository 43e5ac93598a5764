"""Where the app runs, from environment variables: nothing set means the embedded local AWS."""

from __future__ import annotations

from enum import StrEnum
from functools import cache

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Home(StrEnum):
    """Which AWS the app talks to."""

    LOCAL = "local"
    AWS = "aws"


class Settings(BaseSettings):
    """ORDERS_* variables; AWS_REGION / AWS_PROFILE are read by boto3 itself."""

    model_config = SettingsConfigDict(env_prefix="ORDERS_", extra="ignore", frozen=True)

    stack_name: str | None = None
    queue_url: str | None = None
    dlq_url: str | None = None
    workflow_arn: str | None = None

    @model_validator(mode="after")
    def _names_complete(self) -> Settings:
        named = [self.queue_url, self.workflow_arn]
        if not self.stack_name and any(named) and not all(named):
            raise ValueError(
                "set ORDERS_STACK_NAME, or both ORDERS_QUEUE_URL and ORDERS_WORKFLOW_ARN (ORDERS_DLQ_URL optional)"
            )
        return self

    @property
    def home(self) -> Home:
        return Home.AWS if self.stack_name or self.queue_url else Home.LOCAL


@cache
def settings() -> Settings:
    """The settings of this process (read once)."""
    return Settings()
