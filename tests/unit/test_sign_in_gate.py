"""The sign-in gate every page passes: refuse to start without [auth] where sign-in is required, warn when it is off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from backend.settings import settings

AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "x" * 40,
    "client_id": "dashboard",
    "client_secret": "secret",
    "server_metadata_url": "http://localhost:1/.well-known/openid-configuration",
}


def gated_page() -> None:
    import streamlit as st

    from pages._shared import caller, sign_in_gate

    if sign_in_gate():
        st.write(f"page ran as {caller().role.value}")


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("ORDERS_AUTH", "ORDERS_STACK_NAME", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    settings.cache_clear()
    yield
    settings.cache_clear()


def run(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], auth: dict[str, str] | None = None) -> AppTest:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings.cache_clear()
    app = AppTest.from_function(gated_page, default_timeout=30)
    if auth is not None:
        app.secrets["auth"] = auth
    app.run()
    assert not app.exception, app.exception
    return app


def test_on_aws_without_auth_the_app_refuses_to_start_with_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    app = run(monkeypatch, {"ORDERS_STACK_NAME": "orders-pipeline"})
    (error,) = app.error
    assert "Sign-in is required on AWS, and it is not configured" in error.value
    assert "ORDERS_AUTH=off" in error.value
    assert not app.markdown  # the page never ran


def test_an_incomplete_auth_section_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    app = run(monkeypatch, {"ORDERS_STACK_NAME": "orders-pipeline"}, {"redirect_uri": AUTH["redirect_uri"]})
    assert "lacks cookie\\_secret" in app.error[0].value or "lacks cookie_secret" in app.error[0].value


def test_on_aws_with_auth_the_page_waits_for_sign_in(monkeypatch: pytest.MonkeyPatch) -> None:
    app = run(monkeypatch, {"ORDERS_STACK_NAME": "orders-pipeline"}, AUTH)
    assert [button.label for button in app.button] == ["Sign in"]
    assert not app.error
    assert not app.markdown


def test_several_providers_get_a_button_each(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = {key: AUTH[key] for key in ("client_id", "client_secret", "server_metadata_url")}
    shared = {key: AUTH[key] for key in ("redirect_uri", "cookie_secret")}
    app = run(monkeypatch, {"ORDERS_AUTH": "on"}, {**shared, "google": provider, "okta": provider})
    assert [button.label for button in app.button] == ["Sign in with Google", "Sign in with Okta"]


def test_auth_off_on_aws_shows_a_red_banner_and_runs_open(monkeypatch: pytest.MonkeyPatch) -> None:
    app = run(monkeypatch, {"ORDERS_STACK_NAME": "orders-pipeline", "ORDERS_AUTH": "off"})
    (error,) = app.error
    assert "open to anyone" in error.value
    assert app.markdown[0].value == "page ran as operator"


def test_the_local_sandbox_runs_without_sign_in_as_an_operator(monkeypatch: pytest.MonkeyPatch) -> None:
    app = run(monkeypatch, {})
    assert not app.error
    assert app.markdown[0].value == "page ran as operator"


def test_an_invalid_auth_setting_is_a_message_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    app = run(monkeypatch, {"ORDERS_AUTH": "maybe"})
    assert "settings are invalid" in app.error[0].value
