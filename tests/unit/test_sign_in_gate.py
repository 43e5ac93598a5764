"""The sign-in gate every page passes: refuse to start without a safe [auth] where sign-in is required, refuse people
without a role, end sign-ins that are too old, refuse to serve the open sandbox beyond this machine, warn when
sign-in is off."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.util import patch_config_options

from backend.settings import settings
from tests.conftest import _APP_SETTINGS, PROJECT_ROOT

AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": secrets.token_urlsafe(48),
    "client_id": "dashboard",
    "client_secret": "secret",
    "server_metadata_url": "http://localhost:1/.well-known/openid-configuration",
}
ON_AWS = {"ORDERS_STACK_NAME": "orders-pipeline"}


def gated_page() -> None:
    import streamlit as st

    from pages.ui.gate import caller, sign_in_gate

    if sign_in_gate():
        st.write(f"page ran as {caller().role_name}")


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in _APP_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    settings.cache_clear()
    yield
    settings.cache_clear()


def person(groups: list[str], signed_in_ago: float | None = 60, **claims: Any) -> dict[str, Any]:
    """st.user of a person the provider signed in (the ID token's claims), signed_in_ago seconds ago."""
    user = {
        "is_logged_in": True,
        "iss": "https://issuer.example.com",
        "sub": "subject-1",
        "email": "pat@example.com",
        "email_verified": True,
        "name": "Pat",
        "cognito:groups": groups,
    }
    if signed_in_ago is not None:
        user["iat"] = int(time.time() - signed_in_ago)
    return user | claims


def run(
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    auth: dict[str, Any] | None = None,
    user: dict[str, Any] | None = None,
    address: str | None = "127.0.0.1",
) -> AppTest:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings.cache_clear()
    app = AppTest.from_function(gated_page, default_timeout=30)
    if auth is not None:
        app.secrets["auth"] = auth
    if user is not None:
        app.user = user
    with patch_config_options({"server.address": address}):
        app.run()
    assert not app.exception, app.exception
    return app


def page_ran(app: AppTest) -> str | None:
    return next((m.value for m in app.markdown if m.value.startswith("page ran as")), None)


def test_on_aws_without_auth_the_app_refuses_to_start_with_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    app = run(monkeypatch, ON_AWS)
    (error,) = app.error
    assert "Sign-in is required on AWS, and it is not configured" in error.value
    assert "ORDERS_AUTH=off" in error.value
    assert not app.markdown  # the page never ran


@pytest.mark.parametrize("page", sorted(path.name for path in (PROJECT_ROOT / "pages").glob("*.py")))
def test_a_page_run_alone_passes_the_gate_first(monkeypatch: pytest.MonkeyPatch, page: str) -> None:
    # As Streamlit's pages/ folder discovery runs a page on a fresh server's first sessions: its file alone, without
    # streamlit_app.py.
    for name, value in ON_AWS.items():
        monkeypatch.setenv(name, value)
    settings.cache_clear()
    app = AppTest.from_file(str(PROJECT_ROOT / "pages" / page), default_timeout=30)
    with patch_config_options({"server.address": "127.0.0.1"}):
        app.run()
    assert not app.exception, app.exception
    (error,) = app.error
    assert "Sign-in is required on AWS, and it is not configured" in error.value
    assert not app.title  # neither the page's heading nor anything after it
    assert not app.sidebar.children  # no menu, no identity, no AWS


def test_an_incomplete_auth_section_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    app = run(monkeypatch, ON_AWS, {"redirect_uri": AUTH["redirect_uri"]})
    assert "lacks cookie\\_secret" in app.error[0].value or "lacks cookie_secret" in app.error[0].value


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("x" * 40, "is too predictable"),
        ("secret" * 8, "is too predictable"),
        ("short-secret", "is too short: 12 characters"),
    ],
)
def test_a_weak_cookie_secret_stops_the_app_naming_the_problem(
    monkeypatch: pytest.MonkeyPatch, secret: str, problem: str
) -> None:
    app = run(monkeypatch, ON_AWS, AUTH | {"cookie_secret": secret}, person(["operator"]))
    (error,) = app.error
    assert "Sign-in is required on AWS, and it is not configured" in error.value
    assert "`cookie_secret`" in error.value
    assert problem in error.value
    assert "secrets.token_urlsafe(48)" in error.value
    assert not app.button
    assert page_ran(app) is None  # not even a signed-in operator gets in


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param(secrets.token_urlsafe(48), id="token_urlsafe(48)"),  # fixed ids: every xdist worker the same
        pytest.param(secrets.token_hex(32), id="token_hex(32)"),
    ],
)
def test_a_random_cookie_secret_is_accepted(monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
    app = run(monkeypatch, ON_AWS, AUTH | {"cookie_secret": secret})
    assert [button.label for button in app.button] == ["Sign in"]
    assert not app.error


def test_on_aws_with_auth_the_page_waits_for_sign_in_and_says_how_long_one_lasts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = run(monkeypatch, ON_AWS | {"ORDERS_AUTH_MAX_AGE_HOURS": "10"}, AUTH)
    assert [button.label for button in app.button] == ["Sign in"]
    assert not app.error
    assert not app.markdown
    assert any("A sign-in lasts 10 h" in caption.value for caption in app.caption)


def test_several_providers_get_a_button_each(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = {key: AUTH[key] for key in ("client_id", "client_secret", "server_metadata_url")}
    shared = {key: AUTH[key] for key in ("redirect_uri", "cookie_secret")}
    app = run(monkeypatch, {"ORDERS_AUTH": "on"}, {**shared, "google": provider, "okta": provider})
    assert [button.label for button in app.button] == ["Sign in with Google", "Sign in with Okta"]


@pytest.mark.parametrize(
    ("groups", "role"), [(["viewer"], "viewer"), (["staff"], "staff"), (["operator", "viewer"], "operator")]
)
def test_a_signed_in_person_with_a_role_gets_the_pages(
    monkeypatch: pytest.MonkeyPatch, groups: list[str], role: str
) -> None:
    app = run(monkeypatch, ON_AWS, AUTH, person(groups))
    assert not app.error
    assert page_ran(app) == f"page ran as {role}"


@pytest.mark.parametrize(
    "user",
    [
        person([]),
        person(["Not an operator"]),
        person("Not an operator"),  # type: ignore[arg-type] - a provider sending one string
        person([], email="boss@example.com", email_verified="no"),
    ],
)
def test_a_signed_in_person_without_a_role_is_refused_and_may_sign_out(
    monkeypatch: pytest.MonkeyPatch, user: dict[str, Any]
) -> None:
    app = run(monkeypatch, ON_AWS | {"ORDERS_OPERATOR_EMAILS": "boss@example.com"}, AUTH, user)
    (error,) = app.error
    assert "has no role in this dashboard" in error.value
    assert "ask an administrator to add you to the viewer group" in error.value
    assert [button.label for button in app.button] == ["Sign out"]
    assert page_ran(app) is None


def test_an_allow_listed_viewer_gets_the_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    app = run(monkeypatch, ON_AWS | {"ORDERS_VIEWER_EMAILS": "PAT@example.com"}, AUTH, person([]))
    assert page_ran(app) == "page ran as viewer"


@pytest.mark.parametrize(
    "user",
    [
        person(["operator"], signed_in_ago=8 * 3600 + 60),  # beyond the default 8 h
        person(["operator"], signed_in_ago=None),  # no iat: its age is unknown
        person(["operator"], iat="yesterday"),
        person([], signed_in_ago=9 * 3600),  # stale first: a fresh sign-in may bring a group
    ],
)
def test_a_stale_sign_in_is_ended_and_the_person_asked_to_sign_in_again(
    monkeypatch: pytest.MonkeyPatch, user: dict[str, Any]
) -> None:
    app = run(monkeypatch, ON_AWS, AUTH, user)
    (warning,) = app.warning
    assert "sign in again, and your role is read afresh" in warning.value
    assert [button.label for button in app.button] == ["Sign in"]  # st.logout() ended it: the sign-in page shows
    assert page_ran(app) is None
    assert not app.error


def test_the_maximum_age_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    user = person(["operator"], signed_in_ago=3 * 3600)
    assert page_ran(run(monkeypatch, ON_AWS, AUTH, user)) == "page ran as operator"
    app = run(monkeypatch, ON_AWS | {"ORDERS_AUTH_MAX_AGE_HOURS": "2"}, AUTH, user)
    assert page_ran(app) is None
    assert "more than 2 h old" in app.warning[0].value


def test_auth_off_on_aws_shows_a_red_banner_and_runs_open(monkeypatch: pytest.MonkeyPatch) -> None:
    app = run(monkeypatch, ON_AWS | {"ORDERS_AUTH": "off"}, address="0.0.0.0")  # noqa: S104 - its own choice
    (error,) = app.error
    assert "open to anyone" in error.value
    assert page_ran(app) == "page ran as operator"


def test_an_endpoint_that_is_not_the_local_sandbox_requires_sign_in(monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = "https://proxy.example.com"
    app = run(monkeypatch, ON_AWS | {"AWS_ENDPOINT_URL": proxy})
    (error,) = app.error
    assert "Sign-in is required with AWS" in error.value
    assert "proxy" in error.value
    assert page_ran(app) is None
    app = run(monkeypatch, ON_AWS | {"AWS_ENDPOINT_URL": proxy, "ORDERS_AUTH": "off"})
    assert "open to anyone" in app.error[0].value
    assert page_ran(app) == "page ran as operator"


def test_the_local_sandbox_runs_without_sign_in_as_an_operator(monkeypatch: pytest.MonkeyPatch) -> None:
    app = run(monkeypatch, {})
    assert not app.error
    assert page_ran(app) == "page ran as operator"


@pytest.mark.parametrize("address", ["0.0.0.0", "", None, "192.168.1.10", "::"])  # noqa: S104
def test_the_sandbox_with_sign_in_off_refuses_to_serve_beyond_this_machine(
    monkeypatch: pytest.MonkeyPatch, address: str | None
) -> None:
    app = run(monkeypatch, {}, address=address)
    (error,) = app.error
    assert "anyone on the network would act as an operator on this machine's local AWS" in error.value
    assert "make run" in error.value
    assert "127.0.0.1" in error.value
    assert page_ran(app) is None


@pytest.mark.parametrize("address", ["127.0.0.1", "localhost", "::1"])
def test_the_sandbox_with_sign_in_off_serves_loopback(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    assert page_ran(run(monkeypatch, {}, address=address)) == "page ran as operator"


def test_the_sandbox_with_sign_in_on_may_serve_every_interface(monkeypatch: pytest.MonkeyPatch) -> None:
    app = run(monkeypatch, {"ORDERS_AUTH": "on"}, AUTH, person(["staff"]), address="0.0.0.0")  # noqa: S104
    assert page_ran(app) == "page ran as staff"


def test_an_invalid_auth_setting_is_a_message_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    app = run(monkeypatch, {"ORDERS_AUTH": "maybe"})
    assert "settings are invalid" in app.error[0].value
