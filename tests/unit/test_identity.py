"""Roles from ID-token claims, the settings that shape them, and the refusal every guarded operation raises."""

from __future__ import annotations

from typing import Any

import pytest

from backend.identity import (
    Caller,
    Forbidden,
    Role,
    RoleRules,
    caller_from_claims,
    require,
    role_for,
    unauthenticated_caller,
)
from backend.settings import Home, Settings

RULES = RoleRules(
    groups_claim="cognito:groups",
    operator_groups=frozenset({"operator", "sre"}),
    staff_groups=frozenset({"staff"}),
    operator_emails=frozenset({"boss@example.com"}),
    staff_emails=frozenset({"clerk@example.com"}),
)


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({}, Role.VIEWER),
        ({"sub": "u1"}, Role.VIEWER),
        ({"sub": "u1", "email": "someone@example.com"}, Role.VIEWER),
        ({"cognito:groups": []}, Role.VIEWER),
        ({"cognito:groups": None}, Role.VIEWER),
        ({"cognito:groups": ["viewer"]}, Role.VIEWER),
        ({"cognito:groups": ["staff"]}, Role.STAFF),
        ({"cognito:groups": ["operator"]}, Role.OPERATOR),
        ({"cognito:groups": ["sre"]}, Role.OPERATOR),
        ({"cognito:groups": "staff"}, Role.STAFF),
        ({"cognito:groups": "viewer,operator"}, Role.OPERATOR),
        ({"cognito:groups": "viewer staff"}, Role.STAFF),
        ({"cognito:groups": ["Operator"]}, Role.VIEWER),  # group names are case-sensitive, as in Cognito
        ({"groups": ["operator"]}, Role.VIEWER),  # not the configured claim
        ({"cognito:groups": ["staff", "operator"]}, Role.OPERATOR),  # the highest role wins
        ({"cognito:groups": ["operator"], "email": "clerk@example.com"}, Role.OPERATOR),
        ({"cognito:groups": ["staff"], "email": "boss@example.com"}, Role.OPERATOR),
        ({"email": "clerk@example.com"}, Role.STAFF),
        ({"email": "Clerk@Example.COM"}, Role.STAFF),  # e-mail lists ignore case
        ({"email": " BOSS@example.com "}, Role.OPERATOR),
        ({"email": "boss@example.com", "email_verified": True}, Role.OPERATOR),
        ({"email": "boss@example.com", "email_verified": False}, Role.VIEWER),  # unverified earns nothing
        ({"email": "boss@example.com", "email_verified": "false"}, Role.VIEWER),
        ({"email": "boss@example.com", "email_verified": False, "cognito:groups": ["staff"]}, Role.STAFF),
        ({"email": "", "cognito:groups": 42}, Role.VIEWER),
    ],
)
def test_role_from_claims(claims: dict[str, Any], expected: Role) -> None:
    assert role_for(claims, RULES) is expected


def test_another_groups_claim_is_read_when_configured() -> None:
    rules = RULES.model_copy(update={"groups_claim": "groups"})
    assert role_for({"groups": ["operator"]}, rules) is Role.OPERATOR
    assert role_for({"cognito:groups": ["operator"]}, rules) is Role.VIEWER


def test_roles_are_ordered() -> None:
    assert [role.rank for role in (Role.VIEWER, Role.STAFF, Role.OPERATOR)] == [0, 1, 2]
    assert Role.OPERATOR.allows(Role.STAFF)
    assert Role.STAFF.allows(Role.STAFF)
    assert not Role.STAFF.allows(Role.OPERATOR)
    assert not Role.VIEWER.allows(Role.STAFF)


def test_caller_from_claims() -> None:
    caller = caller_from_claims(
        {"sub": "abc-123", "email": "ops@example.com", "name": "Ops", "cognito:groups": ["operator"]}, RULES
    )
    assert caller == Caller(subject="abc-123", email="ops@example.com", name="Ops", role=Role.OPERATOR)
    assert caller.label == "ops@example.com"
    assert caller_from_claims({"sub": "s"}, RULES).label == "s"


def test_refusal_names_the_needed_role_and_the_callers() -> None:
    viewer = Caller(subject="v", email="v@example.com", role=Role.VIEWER)
    with pytest.raises(Forbidden) as refused:
        require(viewer, Role.OPERATOR, "Purging a queue")
    expected = "Purging a queue needs the operator role; v@example.com is signed in as viewer."
    assert str(refused.value).startswith(expected)
    assert refused.value.needed is Role.OPERATOR
    require(viewer.model_copy(update={"role": Role.OPERATOR}), Role.OPERATOR, "Purging a queue")


@pytest.mark.parametrize(
    ("env", "home", "required"),
    [
        ({}, Home.LOCAL, False),
        ({"ORDERS_AUTH": "on"}, Home.LOCAL, True),
        ({"ORDERS_STACK_NAME": "prod"}, Home.AWS, True),
        ({"ORDERS_STACK_NAME": "prod", "ORDERS_AUTH": "off"}, Home.AWS, False),
        ({"ORDERS_STACK_NAME": "prod", "AWS_ENDPOINT_URL": "http://localhost:4599"}, Home.LOCAL, False),
    ],
)
def test_sign_in_is_required_on_aws_unless_switched_off(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], home: Home, required: bool
) -> None:
    for name in ("ORDERS_AUTH", "ORDERS_STACK_NAME", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = Settings()
    assert (config.home, config.sign_in_required) == (home, required)
    anyone = unauthenticated_caller(config)
    assert (anyone.role, anyone.signed_in) == (Role.OPERATOR, False)


def test_role_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERS_GROUPS_CLAIM", "groups")
    monkeypatch.setenv("ORDERS_OPERATOR_GROUPS", "ops, sre ,")
    monkeypatch.setenv("ORDERS_STAFF_EMAILS", "Clerk@Example.com,other@example.com")
    rules = RoleRules.from_settings(Settings())
    assert rules.groups_claim == "groups"
    assert rules.operator_groups == {"ops", "sre"}
    assert rules.staff_groups == {"staff"}
    assert rules.staff_emails == {"clerk@example.com", "other@example.com"}
    assert role_for({"email": "CLERK@example.com"}, rules) is Role.STAFF


def test_an_unknown_auth_mode_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERS_AUTH", "maybe")
    with pytest.raises(ValueError, match="auth"):
        Settings()
