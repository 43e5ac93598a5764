"""Where the app runs, from environment variables: nothing set means the embedded local AWS."""

from __future__ import annotations

from enum import StrEnum
from functools import cache

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Home(StrEnum):
    """Which AWS the app talks to."""

    LOCAL = "local"
    AWS = "aws"


class Settings(BaseSettings):
    """ORDERS_STACK_NAME and AWS_ENDPOINT_URL; boto3 reads the other AWS_* variables itself."""

    model_config = SettingsConfigDict(env_prefix="ORDERS_", extra="ignore", frozen=True)

    stack_name: str | None = None
    endpoint_url: str | None = Field(default=None, validation_alias=AliasChoices("AWS_ENDPOINT_URL"))

    @property
    def home(self) -> Home:
        """AWS when a stack is named and no endpoint redirects the SDK; else a local AWS."""
        return Home.AWS if self.stack_name and not self.endpoint_url else Home.LOCAL

    @property
    def embedded(self) -> bool:
        """Whether the app runs (or attaches to) this machine's embedded local AWS itself."""
        return not self.stack_name


@cache
def settings() -> Settings:
    """The settings of this process (read once)."""
    return Settings()
