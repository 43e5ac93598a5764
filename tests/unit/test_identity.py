"""Roles from ID-token claims, the settings that shape them and decide when sign-in is required, the sign-in rules
(cookie secret, sign-in age, served address), and the refusal every guarded operation raises."""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.identity import (
    Admission,
    Caller,
    Forbidden,
    Role,
    RoleRules,
    admission,
    auth_problem,
    caller_from_claims,
    cookie_secret_problem,
    no_role_message,
    open_serving_problem,
    require,
    role_for,
    signed_in_at,
    unauthenticated_caller,
)
from backend.settings import Home, Settings, is_loopback, same_endpoint
from localaws import instance
from tests.conftest import _APP_SETTINGS

RULES = RoleRules(
    groups_claim="cognito:groups",
    operator_groups=frozenset({"operator", "sre"}),
    staff_groups=frozenset({"staff"}),
    viewer_groups=frozenset({"viewer"}),
    operator_emails=frozenset({"boss@example.com"}),
    staff_emails=frozenset({"clerk@example.com"}),
    viewer_emails=frozenset({"reader@example.com"}),
)
VERIFIED = {"email_verified": True}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _APP_SETTINGS:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        # No group and no allow-list: refused, never a default viewer.
        ({}, None),
        ({"sub": "u1"}, None),
        ({"sub": "u1", "email": "someone@example.com", **VERIFIED}, None),
        ({"cognito:groups": None}, None),
        ({"cognito:groups": []}, None),
        ({"groups": ["operator"]}, None),  # not the configured claim
        # A list: its string items.
        ({"cognito:groups": ["viewer"]}, Role.VIEWER),
        ({"cognito:groups": ["staff"]}, Role.STAFF),
        ({"cognito:groups": ["operator"]}, Role.OPERATOR),
        ({"cognito:groups": ["sre"]}, Role.OPERATOR),
        ({"cognito:groups": ("operator",)}, Role.OPERATOR),
        ({"cognito:groups": ["staff", "operator"]}, Role.OPERATOR),  # the highest role wins
        ({"cognito:groups": ["viewer", "staff"]}, Role.STAFF),
        ({"cognito:groups": ["Operator"]}, None),  # group names are case-sensitive, as in Cognito
        ({"cognito:groups": ["auditors"]}, None),
        # A string is ONE group.
        ({"cognito:groups": "staff"}, Role.STAFF),
        ({"cognito:groups": "Not an operator"}, None),
        ({"cognito:groups": "viewer,operator"}, None),
        ({"cognito:groups": "viewer staff"}, None),
        ({"cognito:groups": ""}, None),
        # Wrong types: no groups.
        ({"cognito:groups": 42}, None),
        ({"cognito:groups": True}, None),
        ({"cognito:groups": {"operator": True}}, None),
        ({"cognito:groups": {"operator"}}, None),
        ({"cognito:groups": [1, 2]}, None),
        ({"cognito:groups": [["operator"]]}, None),
        ({"cognito:groups": [{"name": "operator"}]}, None),
        ({"cognito:groups": [None, 7, "staff"]}, Role.STAFF),  # the string items count
        # email_verified: only true, or the string "true", lets an address earn a role.
        ({"email": "boss@example.com"}, None),
        ({"email": "boss@example.com", "email_verified": False}, None),
        ({"email": "boss@example.com", "email_verified": "False"}, None),
        ({"email": "boss@example.com", "email_verified": "false"}, None),
        ({"email": "boss@example.com", "email_verified": "0"}, None),
        ({"email": "boss@example.com", "email_verified": "no"}, None),
        ({"email": "boss@example.com", "email_verified": ""}, None),
        ({"email": "boss@example.com", "email_verified": 1}, None),
        ({"email": "boss@example.com", "email_verified": None}, None),
        ({"email": "boss@example.com", "email_verified": True}, Role.OPERATOR),
        ({"email": "boss@example.com", "email_verified": "true"}, Role.OPERATOR),
        ({"email": "boss@example.com", "email_verified": "TRUE"}, Role.OPERATOR),
        # Allow-lists, any case.
        ({"email": "reader@example.com", **VERIFIED}, Role.VIEWER),
        ({"email": "clerk@example.com", **VERIFIED}, Role.STAFF),
        ({"email": "Clerk@Example.COM", **VERIFIED}, Role.STAFF),
        ({"email": " BOSS@example.com ", **VERIFIED}, Role.OPERATOR),
        ({"email": "reader@example.com", "email_verified": "no"}, None),
        ({"email": 42, **VERIFIED}, None),
        # Groups and e-mail together: the highest wins; an unverified address adds nothing to a group's role.
        ({"cognito:groups": ["operator"], "email": "clerk@example.com", **VERIFIED}, Role.OPERATOR),
        ({"cognito:groups": ["staff"], "email": "boss@example.com", **VERIFIED}, Role.OPERATOR),
        ({"cognito:groups": ["staff"], "email": "boss@example.com", "email_verified": False}, Role.STAFF),
        ({"cognito:groups": ["viewer"], "email": "boss@example.com"}, Role.VIEWER),
    ],
)
def test_role_from_claims(claims: dict[str, Any], expected: Role | None) -> None:
    assert role_for(claims, RULES) is expected


def test_another_groups_claim_is_read_when_configured() -> None:
    rules = RULES.model_copy(update={"groups_claim": "groups"})
    assert role_for({"groups": ["operator"]}, rules) is Role.OPERATOR
    assert role_for({"cognito:groups": ["operator"]}, rules) is None


def test_roles_are_ordered() -> None:
    assert [role.rank for role in (Role.VIEWER, Role.STAFF, Role.OPERATOR)] == [0, 1, 2]
    assert Role.OPERATOR.allows(Role.STAFF)
    assert Role.STAFF.allows(Role.STAFF)
    assert not Role.STAFF.allows(Role.OPERATOR)
    assert not Role.VIEWER.allows(Role.STAFF)


def test_caller_from_claims_names_issuer_subject_and_email() -> None:
    claims = {
        "iss": "https://issuer.example.com",
        "sub": "abc-123",
        "email": "ops@example.com",
        "name": "Ops",
        "cognito:groups": ["operator"],
    }
    caller = caller_from_claims(claims, RULES)
    assert caller == Caller(
        subject="abc-123", issuer="https://issuer.example.com", email="ops@example.com", name="Ops", role=Role.OPERATOR
    )
    assert caller.label == "ops@example.com"
    nobody = caller_from_claims({"sub": "s"}, RULES)
    assert (nobody.label, nobody.role, nobody.issuer, nobody.role_name) == ("s", None, None, "no role")


def test_refusal_names_the_needed_role_and_the_callers() -> None:
    viewer = Caller(subject="v", email="v@example.com", role=Role.VIEWER)
    with pytest.raises(Forbidden) as refused:
        require(viewer, Role.OPERATOR, "Purging a queue")
    expected = "Purging a queue needs the operator role; v@example.com is signed in as viewer."
    assert str(refused.value).startswith(expected)
    assert refused.value.needed is Role.OPERATOR
    require(viewer.model_copy(update={"role": Role.OPERATOR}), Role.OPERATOR, "Purging a queue")


@pytest.mark.parametrize("needed", list(Role))
def test_a_caller_without_a_role_may_do_nothing(needed: Role) -> None:
    nobody = Caller(subject="n", email="n@example.com", role=None)
    with pytest.raises(Forbidden, match=r"n@example\.com has no role in this dashboard"):
        require(nobody, needed, "Anything")


def test_the_refusal_of_a_person_without_a_role_says_what_to_ask_for() -> None:
    who = caller_from_claims({"sub": "s", "email": "nobody@example.com"}, RULES)
    message = no_role_message(who, RULES)
    assert "nobody@example.com" in message
    assert "has no role in this dashboard" in message
    assert "ask an administrator to add you to the viewer group (viewer)" in message


NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
EIGHT_HOURS = timedelta(hours=8)


@pytest.mark.parametrize(
    ("iat", "expected"),
    [
        (NOW.timestamp(), Admission.ADMITTED),
        (int((NOW - timedelta(hours=7, minutes=59)).timestamp()), Admission.ADMITTED),
        ((NOW + timedelta(minutes=2)).timestamp(), Admission.ADMITTED),  # a provider's clock a little ahead
        (int((NOW - timedelta(hours=8, seconds=1)).timestamp()), Admission.STALE),
        (int((NOW - timedelta(days=29)).timestamp()), Admission.STALE),  # the cookie lasts 30 days: not the role
        ((NOW + timedelta(hours=1)).timestamp(), Admission.STALE),  # from the future: not a sign-in time
        (None, Admission.STALE),  # missing
        (str(int(NOW.timestamp())), Admission.STALE),  # malformed
        (True, Admission.STALE),
        (float("nan"), Admission.STALE),
        (1e20, Admission.STALE),
        ([int(NOW.timestamp())], Admission.STALE),
    ],
)
def test_a_sign_in_older_than_the_maximum_age_or_of_unknown_age_is_stale(iat: Any, expected: Admission) -> None:
    claims = {"sub": "s", "cognito:groups": ["operator"]} | ({} if iat is None else {"iat": iat})
    verdict, who = admission(claims, EIGHT_HOURS, RULES, now=NOW)
    assert verdict is expected
    assert who.role is Role.OPERATOR


def test_a_fresh_sign_in_without_a_role_is_refused_and_a_stale_one_asked_again_first() -> None:
    fresh = {"sub": "s", "iat": int(NOW.timestamp())}
    assert admission(fresh, EIGHT_HOURS, RULES, now=NOW)[0] is Admission.NO_ROLE
    stale = {"sub": "s", "iat": int((NOW - timedelta(hours=9)).timestamp())}
    assert admission(stale, EIGHT_HOURS, RULES, now=NOW)[0] is Admission.STALE  # a new sign-in may bring a group
    assert signed_in_at({"iat": 0}, now=NOW) == datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        # Random values get fixed ids: every xdist worker must collect the same tests.
        pytest.param(secrets.token_urlsafe(48), None, id="token_urlsafe(48)"),
        pytest.param(secrets.token_hex(32), None, id="token_hex(32)"),
        pytest.param(secrets.token_urlsafe(32), None, id="token_urlsafe(32)"),
        ("x" * 40, "too predictable"),
        ("secret" * 8, "too predictable"),
        ("password" * 5, "too predictable"),
        ("abc" * 14, "too predictable"),
        pytest.param(secrets.token_urlsafe(16), "too short", id="token_urlsafe(16)"),  # 22 characters, however random
        ("short", "too short"),
        (12345678901234567890123456789012345, "not a string"),
    ],
)
def test_the_cookie_secret_must_hold_128_random_bits(secret: Any, problem: str | None) -> None:
    found = cookie_secret_problem(secret)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_an_auth_section_with_a_weak_cookie_secret_is_a_problem() -> None:
    section = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x" * 40,
        "client_id": "dashboard",
        "client_secret": "anything",
        "server_metadata_url": "http://localhost:1/.well-known/openid-configuration",
    }
    assert "cookie_secret" in (auth_problem(section) or "")
    assert auth_problem(section | {"cookie_secret": secrets.token_urlsafe(48)}) is None
    assert auth_problem(None) == "`.streamlit/secrets.toml` has no `[auth]` section"


@pytest.fixture
def running_local_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A local AWS as this machine's state file announces it: this process, answering on a listening socket."""
    monkeypatch.setenv("ORDERS_LOCAL_STATE_DIR", str(tmp_path))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        endpoint = f"http://127.0.0.1:{listener.getsockname()[1]}"
        info = instance.LocalAwsInfo(
            endpoint=endpoint, pid=os.getpid(), started_at=time.time(), region="us-east-1", stack_name="orders-local"
        )
        instance.publish(info)
        assert instance.running() == info
        yield endpoint


LOCAL = "{local}"  # stands for the running local AWS's endpoint
ELSEWHERE = "https://vpce-0123.sqs.eu-west-1.vpce.amazonaws.com"


@pytest.mark.parametrize(
    ("env", "home", "sandbox", "required"),
    [
        ({}, Home.LOCAL, True, False),  # the embedded local AWS
        ({"ORDERS_AUTH": "on"}, Home.LOCAL, True, True),
        ({"ORDERS_AUTH": "off"}, Home.LOCAL, True, False),
        ({"ORDERS_STACK_NAME": "prod"}, Home.AWS, False, True),  # AWS itself
        ({"ORDERS_STACK_NAME": "prod", "ORDERS_AUTH": "off"}, Home.AWS, False, False),
        ({"ORDERS_STACK_NAME": "prod", "ORDERS_AUTH": "on"}, Home.AWS, False, True),
        ({"ORDERS_STACK_NAME": "orders-local", "AWS_ENDPOINT_URL": LOCAL}, Home.LOCAL, True, False),
        ({"ORDERS_STACK_NAME": "orders-local", "AWS_ENDPOINT_URL": LOCAL + "/"}, Home.LOCAL, True, False),
        ({"ORDERS_STACK_NAME": "orders-local", "AWS_ENDPOINT_URL": "HTTP://127.0.0.1:{port}"}, Home.LOCAL, True, False),
        ({"ORDERS_STACK_NAME": "x", "AWS_ENDPOINT_URL": LOCAL, "ORDERS_AUTH": "on"}, Home.LOCAL, True, True),
        # Any other endpoint: a proxy, a VPC endpoint, another port or name of this machine.
        ({"ORDERS_STACK_NAME": "prod", "AWS_ENDPOINT_URL": ELSEWHERE}, Home.LOCAL, False, True),
        ({"ORDERS_STACK_NAME": "prod", "AWS_ENDPOINT_URL": "http://proxy.internal:4599"}, Home.LOCAL, False, True),
        ({"ORDERS_STACK_NAME": "prod", "AWS_ENDPOINT_URL": "http://127.0.0.1:1"}, Home.LOCAL, False, True),
        ({"ORDERS_STACK_NAME": "prod", "AWS_ENDPOINT_URL": "https://127.0.0.1:{port}"}, Home.LOCAL, False, True),
        ({"ORDERS_STACK_NAME": "prod", "AWS_ENDPOINT_URL": "http://localhost:{port}"}, Home.LOCAL, False, True),
        ({"ORDERS_STACK_NAME": "prod", "AWS_ENDPOINT_URL": "not a url"}, Home.LOCAL, False, True),
        ({"ORDERS_STACK_NAME": "prod", "AWS_ENDPOINT_URL": ELSEWHERE, "ORDERS_AUTH": "off"}, Home.LOCAL, False, False),
    ],
)
def test_sign_in_is_off_only_where_the_app_can_tell_it_talks_to_the_local_sandbox(
    monkeypatch: pytest.MonkeyPatch,
    running_local_aws: str,
    env: dict[str, str],
    home: Home,
    sandbox: bool,
    required: bool,
) -> None:
    port = running_local_aws.rsplit(":", 1)[1]
    for name, value in env.items():
        monkeypatch.setenv(name, value.replace(LOCAL, running_local_aws).replace("{port}", port))
    config = Settings()
    assert (config.home, config.sandbox, config.sign_in_required) == (home, sandbox, required)
    anyone = unauthenticated_caller(config)
    assert (anyone.role, anyone.signed_in) == (Role.OPERATOR, False)
    assert anyone.subject.startswith("local:") == sandbox


def test_the_endpoint_of_a_local_aws_that_no_longer_runs_requires_sign_in(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ORDERS_LOCAL_STATE_DIR", str(tmp_path))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{listener.getsockname()[1]}"
    # Announced by a process that is gone, at a port nobody listens on.
    instance.publish(instance.LocalAwsInfo(endpoint=endpoint, pid=2**22 + 1, started_at=0, region="r", stack_name="s"))
    monkeypatch.setenv("ORDERS_STACK_NAME", "orders-local")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    config = Settings()
    assert (config.sandbox, config.sign_in_required) == (False, True)
    assert "no local AWS runs on this machine" in config.sign_in_reason()


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        ("http://127.0.0.1:4599", "http://127.0.0.1:4599", True),
        ("HTTP://127.0.0.1:4599/", "http://127.0.0.1:4599", True),
        ("http://127.0.0.1:80", "http://127.0.0.1", True),
        ("http://localhost:4599", "http://127.0.0.1:4599", False),
        ("http://127.0.0.1:4598", "http://127.0.0.1:4599", False),
        ("https://127.0.0.1:4599", "http://127.0.0.1:4599", False),
        ("127.0.0.1:4599", "http://127.0.0.1:4599", False),
        ("http://127.0.0.1:99999", "http://127.0.0.1:99999", False),  # not a port
    ],
)
def test_endpoints_are_compared_by_scheme_host_and_port(one: str, other: str, same: bool) -> None:
    assert same_endpoint(one, other) is same


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("0.0.0.0", False),  # noqa: S104 - the address under test
        ("::", False),
        ("", False),  # every interface
        (None, False),
        ("192.168.1.10", False),
        ("my-laptop.local", False),
    ],
)
def test_loopback_addresses(address: str | None, loopback: bool) -> None:
    assert is_loopback(address) is loopback


@pytest.mark.parametrize(
    ("env", "address", "refused"),
    [
        ({}, "127.0.0.1", False),
        ({}, "0.0.0.0", True),  # noqa: S104
        ({}, "", True),
        ({}, None, True),
        ({"ORDERS_AUTH": "off"}, "192.168.1.10", True),
        ({"ORDERS_AUTH": "on"}, "0.0.0.0", False),  # noqa: S104 - sign-in on: the Dockerfile's way
        ({"ORDERS_STACK_NAME": "prod"}, "0.0.0.0", False),  # noqa: S104
        # Off on purpose on AWS: the red banner says so; the address is the deployment's business.
        ({"ORDERS_STACK_NAME": "prod", "ORDERS_AUTH": "off"}, "0.0.0.0", False),  # noqa: S104
    ],
)
def test_the_sandbox_is_served_on_loopback_only_while_sign_in_is_off(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], address: str | None, refused: bool
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    problem = open_serving_problem(Settings(), address)
    assert (problem is not None) is refused
    if problem:
        assert "anyone on the network would act as an operator on this machine's local AWS" in problem
        assert "`make run` serves 127.0.0.1" in problem


def test_role_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERS_GROUPS_CLAIM", "groups")
    monkeypatch.setenv("ORDERS_OPERATOR_GROUPS", "ops, sre ,")
    monkeypatch.setenv("ORDERS_STAFF_EMAILS", "Clerk@Example.com,other@example.com")
    monkeypatch.setenv("ORDERS_VIEWER_GROUPS", "readers,auditors")
    monkeypatch.setenv("ORDERS_VIEWER_EMAILS", "Reader@Example.com")
    config = Settings()
    rules = RoleRules.from_settings(config)
    assert rules.groups_claim == "groups"
    assert rules.operator_groups == {"ops", "sre"}
    assert rules.staff_groups == {"staff"}
    assert rules.viewer_groups == {"readers", "auditors"}
    assert rules.staff_emails == {"clerk@example.com", "other@example.com"}
    assert rules.viewer_emails == {"reader@example.com"}
    assert role_for({"email": "CLERK@example.com", **VERIFIED}, rules) is Role.STAFF
    assert role_for({"groups": ["auditors"]}, rules) is Role.VIEWER
    assert role_for({"groups": ["viewer"]}, rules) is None  # the default group no longer counts
    assert config.auth_max_age_hours == 8


@pytest.mark.parametrize(("hours", "valid"), [("8", True), ("0.5", True), ("168", True), ("0", False), ("169", False)])
def test_the_maximum_sign_in_age_is_bounded(monkeypatch: pytest.MonkeyPatch, hours: str, valid: bool) -> None:
    monkeypatch.setenv("ORDERS_AUTH_MAX_AGE_HOURS", hours)
    if valid:
        assert Settings().auth_max_age_hours == float(hours)
    else:
        with pytest.raises(ValueError, match="auth_max_age_hours"):
            Settings()


def test_an_unknown_auth_mode_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERS_AUTH", "maybe")
    with pytest.raises(ValueError, match="auth"):
        Settings()
