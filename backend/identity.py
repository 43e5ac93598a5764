"""Who is calling and what they may do: roles from ID-token claims, and the check every guarded operation makes."""

from __future__ import annotations

import getpass
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from backend.errors import BackendError
from backend.settings import Home, Settings, settings


class Role(StrEnum):
    """What a caller may do; each role may do everything the ones before it may."""

    VIEWER = "viewer"  # sees every page
    STAFF = "staff"  # ... and places orders
    OPERATOR = "operator"  # ... and purges, redrives and stops

    @property
    def rank(self) -> int:
        """The role's position in viewer < staff < operator."""
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        """Whether this role may do what needs the other."""
        return self.rank >= needed.rank


class Caller(BaseModel):
    """The person (or process) behind a call: from the ID token when signed in, else a fixed identity."""

    model_config = ConfigDict(frozen=True)

    subject: str
    email: str | None = None
    name: str | None = None
    role: Role = Role.VIEWER
    signed_in: bool = True

    @property
    def label(self) -> str:
        """How to name the caller to a person: e-mail, else name, else subject."""
        return self.email or self.name or self.subject


class Forbidden(BackendError):
    """The caller's role does not allow the action; the message names the role it needs."""

    def __init__(self, caller: Caller, needed: Role, action: str) -> None:
        self.caller = caller
        self.needed = needed
        super().__init__(
            f"{action} needs the {needed.value} role; {caller.label} is signed in as {caller.role.value}. "
            "Ask an administrator to add you to the group of that role."
        )


def require(caller: Caller, needed: Role, action: str) -> None:
    """Refuse with Forbidden unless the caller's role allows what needs the given role."""
    if not caller.role.allows(needed):
        raise Forbidden(caller, needed, action)


class RoleRules(BaseModel):
    """How claims map to roles: group names in a groups claim, and e-mail allow-lists (lower case)."""

    model_config = ConfigDict(frozen=True)

    groups_claim: str = "cognito:groups"
    operator_groups: frozenset[str] = frozenset({"operator"})
    staff_groups: frozenset[str] = frozenset({"staff"})
    operator_emails: frozenset[str] = frozenset()
    staff_emails: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, config: Settings | None = None) -> RoleRules:
        """The rules set by ORDERS_GROUPS_CLAIM, ORDERS_*_GROUPS and ORDERS_*_EMAILS."""
        config = config or settings()
        return cls(
            groups_claim=config.groups_claim,
            operator_groups=config.operator_groups,
            staff_groups=config.staff_groups,
            operator_emails=config.operator_emails,
            staff_emails=config.staff_emails,
        )


def groups_of(claims: Mapping[str, Any], claim: str) -> frozenset[str]:
    """The groups in a claim: a list, or one string of names separated by commas or spaces (providers differ)."""
    value = claims.get(claim)
    if isinstance(value, str):
        return frozenset(part for part in re.split(r"[,\s]+", value) if part)
    if isinstance(value, list | tuple | set | frozenset):
        return frozenset(str(item) for item in value)
    return frozenset()


def role_for(claims: Mapping[str, Any], rules: RoleRules) -> Role:
    """The highest role the claims earn; a signed-in person matching no rule is a viewer."""
    groups = groups_of(claims, rules.groups_claim)
    email = str(claims.get("email") or "").strip().lower()
    # An address the provider says it has not verified could be anyone's: it earns nothing.
    trusted_email = email if email and claims.get("email_verified", True) not in (False, "false") else ""
    if groups & rules.operator_groups or (trusted_email and trusted_email in rules.operator_emails):
        return Role.OPERATOR
    if groups & rules.staff_groups or (trusted_email and trusted_email in rules.staff_emails):
        return Role.STAFF
    return Role.VIEWER


def caller_from_claims(claims: Mapping[str, Any], rules: RoleRules | None = None) -> Caller:
    """The signed-in caller described by ID-token claims (st.user)."""
    rules = rules or RoleRules.from_settings()
    return Caller(
        subject=str(claims.get("sub") or ""),
        email=str(claims["email"]) if claims.get("email") else None,
        name=str(claims["name"]) if claims.get("name") else None,
        role=role_for(claims, rules),
    )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (a container with an unnamed uid)
        return "unknown"


def unauthenticated_caller(config: Settings | None = None) -> Caller:
    """Who acts when sign-in is off: everyone is an operator (the sandbox's data is fake; on AWS a banner warns)."""
    config = config or settings()
    if config.home is Home.LOCAL:
        user = _os_user()
        return Caller(subject=f"local:{user}", name=f"{user} (local)", role=Role.OPERATOR, signed_in=False)
    return Caller(subject="anonymous", name="anyone (sign-in off)", role=Role.OPERATOR, signed_in=False)


def cli_caller() -> Caller:
    """The command line's caller: it runs with its user's own AWS credentials, so IAM is what limits it."""
    user = _os_user()
    return Caller(subject=f"cli:{user}", name=f"{user} (command line)", role=Role.OPERATOR, signed_in=False)
