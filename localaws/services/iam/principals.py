"""Who may sign requests: the instance's own administrator, and the functions' execution-role sessions."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from localaws.config import ACCOUNT_ID
from localaws.credentials import ADMIN_USER, Credentials

_ADMIN_STATEMENT = {"Effect": "Allow", "Action": "*", "Resource": "*"}
_ADMIN_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [_ADMIN_STATEMENT]})
ROLE_SESSION_SECONDS = 12 * 3600  # STS's longest role session; a worker lives shorter than that


def enforce() -> None:
    """Check every later request's signature and policies (moto's setting is read on each request)."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    ActionAuthenticatorMixin.request_count = 0


def enforced() -> bool:
    """Whether moto checks signatures and policies now."""
    from moto import settings

    return bool(settings.INITIAL_NO_AUTH_ACTION_COUNT == 0)


def register_admin(credentials: Credentials) -> None:
    """Make the instance's own credentials an IAM user allowed everything (idempotent; moto's reset forgets it)."""
    from moto.iam.models import iam_backends

    backend = iam_backends[ACCOUNT_ID]["aws"]
    if ADMIN_USER not in backend.users:
        backend.create_user(region_name="us-east-1", user_name=ADMIN_USER, path="/", tags=[])
        backend.put_user_policy(ADMIN_USER, "administrator", _ADMIN_POLICY)
    user = backend.users[ADMIN_USER]
    if not any(key.access_key_id == credentials.access_key_id for key in user.access_keys):
        key = backend.create_access_key(ADMIN_USER)
        key.access_key_id = credentials.access_key_id
        key.secret_access_key = credentials.secret_access_key


class RoleSessions:
    """Temporary credentials for an execution role, as Lambda gets them through sts:AssumeRole: one session per role,
    renewed before it ends."""

    def __init__(self) -> None:
        self._sessions: dict[str, tuple[float, Credentials]] = {}
        self._lock = threading.Lock()

    def credentials(self, role_arn: str, session_name: str) -> Credentials:
        """The role's current session credentials (Lambda assumes the role itself: no caller's policy is asked)."""
        from moto.sts.models import sts_backends

        with self._lock:
            held = self._sessions.get(role_arn)
            if held and held[0] - time.time() > ROLE_SESSION_SECONDS / 2:
                return held[1]
            session = sts_backends[ACCOUNT_ID]["aws"].assume_role(
                region_name="us-east-1", role_session_name=session_name, role_arn=role_arn, policy=None,
                duration=ROLE_SESSION_SECONDS, external_id=None,
            )  # fmt: skip
            credentials = Credentials(
                access_key_id=session.access_key_id,
                secret_access_key=session.secret_access_key,
                session_token=session.session_token,
            )
            self._sessions[role_arn] = (time.time() + ROLE_SESSION_SECONDS, credentials)
            return credentials

    def forget(self) -> None:
        """Forget every session (STS forgot them)."""
        with self._lock:
            self._sessions.clear()


def missing_permission(role_arn: str, actions: tuple[str, ...], resource: str) -> str | None:
    """The first action ("sqs:ReceiveMessage") the role's own policies do not allow on the resource, as moto's access
    control judges them; None when all are allowed, or while IAM is not enforced."""
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.iam.models import iam_backends

    if not enforced():
        return None
    role = iam_backends[ACCOUNT_ID]["aws"].get_role_by_arn(role_arn)
    policies: list[Any] = list(role.policies.values()) + list(role.managed_policies.values())
    for action in actions:
        results = [IAMPolicy(policy).is_action_permitted(action, resource) for policy in policies]
        if PermissionResult.DENIED in results or PermissionResult.PERMITTED not in results:
            return action
    return None
