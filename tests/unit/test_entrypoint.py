"""The container entrypoint writes [auth] from ORDERS_AUTH_* or Secrets Manager, owner-readable only."""

from __future__ import annotations

import importlib.util
import json
import tomllib
from pathlib import Path

import pytest

from localaws.config import REGION

_spec = importlib.util.spec_from_file_location("entrypoint", Path(__file__).parents[2] / "deploy" / "entrypoint.py")
assert _spec
assert _spec.loader
entrypoint = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(entrypoint)

PUBLIC = {
    "ORDERS_AUTH_REDIRECT_URI": "https://orders.example.com/oauth2callback",
    "ORDERS_AUTH_CLIENT_ID": "client-123",
    "ORDERS_AUTH_SERVER_METADATA_URL": "https://cognito-idp.eu-west-1.amazonaws.com/pool/.well-known/openid-configuration",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*PUBLIC, "ORDERS_AUTH_COOKIE_SECRET", "ORDERS_AUTH_CLIENT_SECRET", "ORDERS_AUTH_SECRET_ID"):
        monkeypatch.delenv(name, raising=False)


def test_nothing_configured_writes_nothing(tmp_path: Path) -> None:
    assert entrypoint.write_secrets(tmp_path) is None
    assert not (tmp_path / ".streamlit").exists()


def test_secrets_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PUBLIC.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ORDERS_AUTH_COOKIE_SECRET", 'c"ookie\\secret')
    monkeypatch.setenv("ORDERS_AUTH_CLIENT_SECRET", "client-secret")
    path = entrypoint.write_secrets(tmp_path)
    assert path == tmp_path / ".streamlit" / "secrets.toml"
    assert path.stat().st_mode & 0o777 == 0o600
    auth = tomllib.loads(path.read_text())["auth"]
    assert auth["cookie_secret"] == 'c"ookie\\secret'
    assert auth["client_id"] == "client-123"
    assert auth["redirect_uri"].endswith("/oauth2callback")


def test_secrets_from_secrets_manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto import mock_aws

    for name, value in PUBLIC.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        import boto3

        stored = {"cookie_secret": "from-sm-cookie", "client_secret": "from-sm-client"}
        secrets = boto3.client("secretsmanager")
        arn = secrets.create_secret(Name="dashboard-auth", SecretString=json.dumps(stored))["ARN"]
        monkeypatch.setenv("ORDERS_AUTH_SECRET_ID", arn)
        path = entrypoint.write_secrets(tmp_path)
    assert path is not None
    auth = tomllib.loads(path.read_text())["auth"]
    assert (auth["cookie_secret"], auth["client_secret"]) == ("from-sm-cookie", "from-sm-client")


def test_half_a_configuration_stops_the_container(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERS_AUTH_CLIENT_ID", "client-123")
    with pytest.raises(SystemExit, match="ORDERS_AUTH_COOKIE_SECRET"):
        entrypoint.write_secrets(tmp_path)
