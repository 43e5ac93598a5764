"""Where the app runs and who may do what, from environment variables: nothing set means the embedded local AWS."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from functools import cache
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from backend import local_aws


class Home(StrEnum):
    """Which AWS the app talks to."""

    LOCAL = "local"
    AWS = "aws"


class AuthMode(StrEnum):
    """ORDERS_AUTH: sign-in switched on or off explicitly."""

    ON = "on"
    OFF = "off"


Names = Annotated[frozenset[str], NoDecode]
MAX_AUTH_AGE_HOURS = 24 * 7


class Settings(BaseSettings):
    """ORDERS_* variables and AWS_ENDPOINT_URL; boto3 reads the other AWS_* variables itself."""

    model_config = SettingsConfigDict(env_prefix="ORDERS_", extra="ignore", frozen=True)

    stack_name: str | None = None
    endpoint_url: str | None = Field(default=None, validation_alias=AliasChoices("AWS_ENDPOINT_URL"))
    auth: AuthMode | None = None
    # A working day: a sign-in older than this is ended, and the next one reads the person's groups afresh.
    auth_max_age_hours: float = Field(default=8, gt=0, le=MAX_AUTH_AGE_HOURS)
    groups_claim: str = "cognito:groups"
    operator_groups: Names = frozenset({"operator"})
    staff_groups: Names = frozenset({"staff"})
    viewer_groups: Names = frozenset({"viewer"})
    operator_emails: Names = frozenset()
    staff_emails: Names = frozenset()
    viewer_emails: Names = frozenset()

    @field_validator(
        "operator_groups",
        "staff_groups",
        "viewer_groups",
        "operator_emails",
        "staff_emails",
        "viewer_emails",
        mode="before",
    )
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("operator_emails", "staff_emails", "viewer_emails")
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
    def sandbox(self) -> bool:
        """Whether the app can tell it talks to this machine's local sandbox: it runs the embedded local AWS itself,
        or AWS_ENDPOINT_URL is exactly the endpoint of the local AWS running here (read afresh on every call)."""
        if self.embedded:
            return True
        if not self.endpoint_url:
            return False
        running = local_aws.running_endpoint()
        return running is not None and same_endpoint(self.endpoint_url, running)

    @property
    def sign_in_required(self) -> bool:
        """ORDERS_AUTH when set; otherwise off only on the local sandbox (fake data) and on everywhere else."""
        if self.auth is not None:
            return self.auth is AuthMode.ON
        return not self.sandbox

    def sign_in_reason(self) -> str:
        """Why sign-in is required, in words: ORDERS_AUTH=on, AWS, or an endpoint that is not the local sandbox."""
        if self.auth is AuthMode.ON:
            return "with ORDERS_AUTH=on"
        if self.endpoint_url and not self.embedded:
            running = local_aws.running_endpoint()
            here = f"this machine's local AWS is {running}" if running else "no local AWS runs on this machine"
            return f"with AWS_ENDPOINT_URL={self.endpoint_url} ({here})"
        return "on AWS"


def _endpoint_key(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url.strip())
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    return parts.scheme.lower(), parts.hostname.lower(), port


def same_endpoint(one: str, other: str) -> bool:
    """Whether two endpoint URLs name the same scheme, host and port (the path and a trailing slash aside)."""
    key = _endpoint_key(one)
    return key is not None and key == _endpoint_key(other)


def is_loopback(address: str | None) -> bool:
    """Whether a server address serves this machine only: 127.0.0.0/8, ::1 or localhost (empty means every
    interface, so it is not)."""
    if not address or not address.strip():
        return False
    host = address.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False  # another host name: it may resolve to any interface
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


@cache
def settings() -> Settings:
    """The settings of this process (read once)."""
    return Settings()
