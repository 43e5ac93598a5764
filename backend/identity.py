"""Who is calling and what they may do: roles from ID-token claims, the sign-in rules, and the check every guarded
operation makes."""

from __future__ import annotations

import getpass
import math
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from backend.errors import BackendError
from backend.settings import Settings, is_loopback, settings

MIN_COOKIE_SECRET_CHARS = 32
MIN_COOKIE_SECRET_BITS = 128
# A token stamped this far in the future is a clock's drift; further is not a sign-in time at all.
CLOCK_SKEW = timedelta(minutes=5)
NEW_KEY_COMMAND = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'


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
    """The person (or process) behind a call: from the ID token when signed in, else a fixed identity.

    role is None for a person the identity provider signed in who earns no role: such a caller may do nothing."""

    model_config = ConfigDict(frozen=True)

    subject: str
    role: Role | None
    issuer: str | None = None  # the ID token's iss: a subject is unique only within its issuer
    email: str | None = None
    name: str | None = None
    signed_in: bool = True

    @property
    def label(self) -> str:
        """How to name the caller to a person: e-mail, else name, else subject."""
        return self.email or self.name or self.subject

    @property
    def role_name(self) -> str:
        """The role's name, or "no role"."""
        return self.role.value if self.role else "no role"

    def may(self, needed: Role) -> bool:
        """Whether the caller's role allows what needs the given role (no role allows nothing)."""
        return self.role is not None and self.role.allows(needed)


class Forbidden(BackendError):
    """The caller's role does not allow the action; the message names the role it needs."""

    def __init__(self, caller: Caller, needed: Role, action: str) -> None:
        self.caller = caller
        self.needed = needed
        self.action = action
        held = f"is signed in as {caller.role.value}" if caller.role else "has no role in this dashboard"
        super().__init__(
            f"{action} needs the {needed.value} role; {caller.label} {held}. "
            "Ask an administrator to add you to the group of that role."
        )


def require(caller: Caller, needed: Role, action: str) -> None:
    """Refuse with Forbidden unless the caller's role allows what needs the given role."""
    if not caller.may(needed):
        raise Forbidden(caller, needed, action)


class RoleRules(BaseModel):
    """How claims map to roles: group names in a groups claim, and e-mail allow-lists (lower case)."""

    model_config = ConfigDict(frozen=True)

    groups_claim: str = "cognito:groups"
    operator_groups: frozenset[str] = frozenset({"operator"})
    staff_groups: frozenset[str] = frozenset({"staff"})
    viewer_groups: frozenset[str] = frozenset({"viewer"})
    operator_emails: frozenset[str] = frozenset()
    staff_emails: frozenset[str] = frozenset()
    viewer_emails: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, config: Settings | None = None) -> RoleRules:
        """The rules set by ORDERS_GROUPS_CLAIM, ORDERS_*_GROUPS and ORDERS_*_EMAILS."""
        config = config or settings()
        return cls(
            groups_claim=config.groups_claim,
            operator_groups=config.operator_groups,
            staff_groups=config.staff_groups,
            viewer_groups=config.viewer_groups,
            operator_emails=config.operator_emails,
            staff_emails=config.staff_emails,
            viewer_emails=config.viewer_emails,
        )


def groups_of(claims: Mapping[str, Any], claim: str) -> frozenset[str]:
    """The groups in a claim: a list's (or tuple's) strings, or one string as ONE group; anything else is none."""
    value = claims.get(claim)
    # Splitting a string would make "Not an operator" three groups, one of them "operator".
    if isinstance(value, str):
        return frozenset({value}) if value else frozenset()
    if isinstance(value, list | tuple):
        return frozenset(item for item in value if isinstance(item, str) and item)
    return frozenset()


def verified_email(claims: Mapping[str, Any]) -> str | None:
    """The e-mail in the claims (lower case) if the provider says it verified it: email_verified true, or "true"."""
    verified = claims.get("email_verified")
    # Only an explicit yes counts: a missing claim, False, "False", "0" or "no" leave the address unproven.
    if not (verified is True or (isinstance(verified, str) and verified.lower() == "true")):
        return None
    email = claims.get("email")
    if not isinstance(email, str):
        return None
    return email.strip().lower() or None


def role_for(claims: Mapping[str, Any], rules: RoleRules) -> Role | None:
    """The highest role the claims earn; None when they earn none (such a person is refused, never a viewer)."""
    groups = groups_of(claims, rules.groups_claim)
    email = verified_email(claims)
    for role, role_groups, emails in (
        (Role.OPERATOR, rules.operator_groups, rules.operator_emails),
        (Role.STAFF, rules.staff_groups, rules.staff_emails),
        (Role.VIEWER, rules.viewer_groups, rules.viewer_emails),
    ):
        if groups & role_groups or (email is not None and email in emails):
            return role
    return None


def _text(claims: Mapping[str, Any], key: str) -> str | None:
    value = claims.get(key)
    return str(value) if value not in (None, "") else None


def caller_from_claims(claims: Mapping[str, Any], rules: RoleRules | None = None) -> Caller:
    """The signed-in caller described by ID-token claims (st.user); its role is None when the claims earn none."""
    rules = rules or RoleRules.from_settings()
    return Caller(
        subject=_text(claims, "sub") or "",
        issuer=_text(claims, "iss"),
        email=_text(claims, "email"),
        name=_text(claims, "name"),
        role=role_for(claims, rules),
    )


def signed_in_at(claims: Mapping[str, Any], now: datetime | None = None) -> datetime | None:
    """When the ID token was issued (its iat claim); None when the claim is missing or malformed."""
    issued = claims.get("iat")
    if isinstance(issued, bool) or not isinstance(issued, int | float) or not math.isfinite(issued):
        return None
    try:
        at = datetime.fromtimestamp(issued, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return None if at > (now or datetime.now(UTC)) + CLOCK_SKEW else at


class Admission(StrEnum):
    """What the sign-in gate does with a signed-in person."""

    ADMITTED = "admitted"
    STALE = "stale"  # signed in too long ago (or when is unknown): sign in again, for a fresh token and groups
    NO_ROLE = "no-role"  # the provider knows them, this dashboard gives them nothing


def admission(
    claims: Mapping[str, Any], max_age: timedelta, rules: RoleRules | None = None, now: datetime | None = None
) -> tuple[Admission, Caller]:
    """Whether a signed-in person may use the dashboard now, and who they are."""
    who = caller_from_claims(claims, rules)
    at = signed_in_at(claims, now)
    if at is None or (now or datetime.now(UTC)) - at > max_age:
        return Admission.STALE, who
    if who.role is None:
        return Admission.NO_ROLE, who
    return Admission.ADMITTED, who


def no_role_message(who: Caller, rules: RoleRules | None = None) -> str:
    """What a person who earns no role is told (plain text)."""
    rules = rules or RoleRules.from_settings()
    groups = ", ".join(sorted(rules.viewer_groups)) or "viewer"
    return (
        f"Signed in as {who.label}, but has no role in this dashboard; ask an administrator to add you to the "
        f"viewer group ({groups})."
    )


# ---------------------------------------------------------------- the [auth] section of Streamlit's secrets
def providers(section: Mapping[str, Any]) -> list[str]:
    """The provider names st.login takes: "default" for keys at the top of [auth], else each [auth.<name>]."""
    named = [key for key, value in section.items() if isinstance(value, Mapping) and "client_id" in value]
    return (["default"] if "client_id" in section else []) + named


def secret_bits(secret: str) -> float:
    """An estimate of a secret's entropy: the Shannon entropy of its characters times its length."""
    if not secret:
        return 0.0
    counts = Counter(secret).values()
    per_char = -sum(count / len(secret) * math.log2(count / len(secret)) for count in counts)
    return per_char * len(secret)


def cookie_secret_problem(secret: object) -> str | None:
    """Why a cookie_secret is too weak to sign identity cookies with (it must hold 128 random bits); None if fine."""
    if not isinstance(secret, str):
        return "`cookie_secret` is not a string"
    if len(secret) < MIN_COOKIE_SECRET_CHARS:
        return (
            f"`cookie_secret` is too short: {len(secret)} characters, at least {MIN_COOKIE_SECRET_CHARS} are needed "
            f"(make one with `{NEW_KEY_COMMAND}`)"
        )
    bits = secret_bits(secret)
    if bits < MIN_COOKIE_SECRET_BITS:
        return (
            f"`cookie_secret` is too predictable: about {bits:.0f} bits of entropy, at least "
            f"{MIN_COOKIE_SECRET_BITS} are needed (make one with `{NEW_KEY_COMMAND}`)"
        )
    return None


def auth_problem(section: Mapping[str, Any] | None) -> str | None:
    """What is missing from [auth] (or too weak in it) for sign-in to work safely, in words; None when it is fine."""
    if section is None:
        return "`.streamlit/secrets.toml` has no `[auth]` section"
    missing = [key for key in ("redirect_uri", "cookie_secret") if not section.get(key)]
    if missing:
        return f"`[auth]` lacks {', '.join(missing)}"
    if not providers(section):
        return "`[auth]` names no provider (`client_id`, `client_secret`, `server_metadata_url`)"
    return cookie_secret_problem(section.get("cookie_secret"))


def open_serving_problem(config: Settings, address: str | None) -> str | None:
    """Why the app must not serve this address with sign-in off (every visitor would be the sandbox's operator);
    None when it may. Only the sandbox is refused: ORDERS_AUTH=off elsewhere is a choice the red banner shows."""
    if config.sign_in_required or not config.sandbox or is_loopback(address):
        return None
    where = f"the address {address}" if address and address.strip() else "every network interface"
    return (
        f"This app serves {where} with sign-in off: anyone on the network would act as an operator on this "
        "machine's local AWS. `make run` serves 127.0.0.1 only; to serve another address, turn sign-in on "
        "(`ORDERS_AUTH=on` and an `[auth]` section in `.streamlit/secrets.toml`)."
    )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (a container with an unnamed uid)
        return "unknown"


def unauthenticated_caller(config: Settings | None = None) -> Caller:
    """Who acts when sign-in is off: everyone is an operator (the sandbox's data is fake; elsewhere a banner warns)."""
    config = config or settings()
    if config.sandbox:
        user = _os_user()
        return Caller(subject=f"local:{user}", name=f"{user} (local)", role=Role.OPERATOR, signed_in=False)
    return Caller(subject="anonymous", name="anyone (sign-in off)", role=Role.OPERATOR, signed_in=False)


def cli_caller() -> Caller:
    """The command line's caller: it runs with its user's own AWS credentials, so IAM is what limits it."""
    user = _os_user()
    return Caller(subject=f"cli:{user}", name=f"{user} (command line)", role=Role.OPERATOR, signed_in=False)
