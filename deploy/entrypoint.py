"""Container entrypoint: write Streamlit's [auth] secrets from the environment or Secrets Manager, then run the app.

Nothing secret is baked into the image or the repository: the cookie secret and the OIDC client secret come from
ORDERS_AUTH_COOKIE_SECRET / ORDERS_AUTH_CLIENT_SECRET (ECS injects them from Secrets Manager with the task
definition's `secrets`), or from the JSON secret named by ORDERS_AUTH_SECRET_ID ({"cookie_secret": ...,
"client_secret": ...}), read with the task role. The file goes to ~/.streamlit/secrets.toml, readable by its owner only.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

APP_ARGS = ("run", "streamlit_app.py")


class AuthSecrets(BaseSettings):
    """ORDERS_AUTH_* variables: the [auth] section's values, or where to read its secrets."""

    model_config = SettingsConfigDict(env_prefix="ORDERS_AUTH_", extra="ignore")

    redirect_uri: str = ""
    client_id: str = ""
    server_metadata_url: str = ""
    cookie_secret: str = ""
    client_secret: str = ""
    secret_id: str = ""  # a Secrets Manager secret name or ARN holding cookie_secret and client_secret

    def resolved(self) -> AuthSecrets:
        """These settings, with the secrets read from Secrets Manager when a secret id is given."""
        if not self.secret_id:
            return self
        import boto3

        stored = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=self.secret_id)["SecretString"])
        return self.model_copy(
            update={
                "cookie_secret": self.cookie_secret or stored.get("cookie_secret", ""),
                "client_secret": self.client_secret or stored.get("client_secret", ""),
            }
        )

    def missing(self) -> list[str]:
        """The ORDERS_AUTH_* values still empty."""
        names = ("redirect_uri", "client_id", "server_metadata_url", "cookie_secret", "client_secret")
        return [f"ORDERS_AUTH_{name.upper()}" for name in names if not getattr(self, name)]

    def toml(self) -> str:
        """The [auth] section (JSON strings are valid TOML basic strings)."""
        names = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")
        return "[auth]\n" + "".join(f"{name} = {json.dumps(getattr(self, name))}\n" for name in names)


def write_secrets(home: Path) -> Path | None:
    """Write ~/.streamlit/secrets.toml from ORDERS_AUTH_* when they are set; return its path, or None if not."""
    config = AuthSecrets()
    if not (config.client_id or config.secret_id):
        return None  # no sign-in configured here: the app itself refuses to start on AWS unless ORDERS_AUTH=off
    config = config.resolved()
    if missing := config.missing():
        sys.exit(f"entrypoint: sign-in is half configured, missing {', '.join(missing)}")
    path = home / ".streamlit" / "secrets.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)  # an older file may have had wider rights
    path.write_text(config.toml(), encoding="utf-8")
    return path


def main() -> None:
    """Write the secrets, then replace this process with `streamlit run streamlit_app.py <arguments>`."""
    write_secrets(Path.home())
    os.execvp("streamlit", ["streamlit", *APP_ARGS, *sys.argv[1:]])  # noqa: S606 - fixed program, our arguments


if __name__ == "__main__":
    main()
