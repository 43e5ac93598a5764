"""The local AWS's own credentials: random per state folder, kept in a file only its owner reads (mode 0600).

They are the instance's administrator, as an account's first IAM user is: the app, the CLI, the tests and the
local AWS's own in-process clients sign with them. A request signed with anything else (but the temporary
credentials of a function's execution role) is refused at the endpoint.
"""

from __future__ import annotations

import os
import secrets
import string
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

FILE_NAME = "credentials.json"
ADMIN_USER = "localaws-admin"
_KEY_ALPHABET = string.ascii_uppercase + "234567"  # AWS access key ids are base32 after their prefix


class Credentials(BaseModel):
    """An access key pair; the session token only for temporary (role) credentials."""

    model_config = ConfigDict(frozen=True)

    access_key_id: str = Field(pattern=r"^(AKIA|ASIA)[A-Z2-7]{16}$")
    secret_access_key: str = Field(min_length=40, max_length=40, repr=False)
    session_token: str | None = Field(default=None, repr=False)

    def environment(self) -> dict[str, str]:
        """The variables AWS's SDKs and CLI read credentials from."""
        values = {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}
        return values | ({"AWS_SESSION_TOKEN": self.session_token} if self.session_token else {})


def generate() -> Credentials:
    """A new random key pair, shaped as IAM's (AKIA + 16 base32 characters; a 40-character secret)."""
    key_id = "AKIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
    secret = "".join(secrets.choice(string.ascii_letters + string.digits + "+/") for _ in range(40))
    return Credentials(access_key_id=key_id, secret_access_key=secret)


def path_in(state_dir: Path) -> Path:
    """Where a state folder keeps its local AWS's credentials."""
    return state_dir / FILE_NAME


def load(state_dir: Path) -> Credentials | None:
    """The state folder's credentials, or None when there are none yet (or the file is not the owner's alone)."""
    path = path_in(state_dir)
    try:
        if path.stat().st_mode & 0o077:
            return None  # readable by others: not a secret any more; the next start makes new ones
        return Credentials.model_validate_json(path.read_text())
    except (OSError, ValueError):
        return None


def load_or_create(state_dir: Path) -> Credentials:
    """The state folder's credentials, made (and written with mode 0600) on first use."""
    existing = load(state_dir)
    if existing:
        return existing
    fresh = generate()
    path = path_in(state_dir)
    staging = path.with_name(f".{FILE_NAME}.{secrets.token_hex(4)}")
    # Created 0600 before anything is written: the secret is never readable by others, not even for a moment.
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(fresh.model_dump_json())
    staging.replace(path)
    return fresh
