"""Where the app runs and who may do what, from environment variables: nothing set means the embedded local AWS."""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from typing import Annotated

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Home(StrEnum):
    """Which AWS the app talks to."""

    LOCAL = "local"
    AWS = "aws"


class AuthMode(StrEnum):
    """ORDERS_AUTH: sign-in switched on or off explicitly."""

    ON = "on"
    OFF = "off"


Names = Annotated[frozenset[str], NoDecode]


class Settings(BaseSettings):
    """ORDERS_* variables and AWS_ENDPOINT_URL; boto3 reads the other AWS_* variables itself."""

    model_config = SettingsConfigDict(env_prefix="ORDERS_", extra="ignore", frozen=True)

    stack_name: str | None = None
    endpoint_url: str | None = Field(default=None, validation_alias=AliasChoices("AWS_ENDPOINT_URL"))
    auth: AuthMode | None = None
    groups_claim: str = "cognito:groups"
    operator_groups: Names = frozenset({"operator"})
    staff_groups: Names = frozenset({"staff"})
    operator_emails: Names = frozenset()
    staff_emails: Names = frozenset()

    @field_validator("operator_groups", "staff_groups", "operator_emails", "staff_emails", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("operator_emails", "staff_emails")
    @classmethod
    def _lower_case(cls, value: frozenset[str]) -> frozenset[str]:
        return frozenset(email.lower() for email in value)

    @property
    def home(self) -> Home:
        """AWS when a stack is named and no endpoint redirects the SDK; else a local AWS."""
        return Home.AWS if self.stack_name and not self.endpoint_url else Home.LOCAL

    @property
    def embedded(self) -> bool:
        """Whether the app runs (or attaches to) this machine's embedded local AWS itself."""
        return not self.stack_name

    @property
    def sign_in_required(self) -> bool:
        """ORDERS_AUTH when set; otherwise on for AWS (real data) and off for the local sandbox (fake data)."""
        if self.auth is not None:
            return self.auth is AuthMode.ON
        return self.home is Home.AWS


@cache
def settings() -> Settings:
    """The settings of this process (read once)."""
    return Settings()
