"""pytest plugin for moto's tests in server mode: against the local AWS, sign as its own administrator and reset it
through its signed reset route; against any other server (plain moto_server), change nothing.

moto's mock puts fake credentials (FOOBARKEY) in the environment and resets the server with an unsigned
POST /moto-api/reset before and after each test; the local AWS refuses both, as it refuses any caller it does not know.
Loaded as `-p conformance_localaws` with tests/conformance/plugins on PYTHONPATH (moto's `tests` package comes first
on the path, so this one is named apart from it).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[3]
# The clock as it was before any test froze it: freezegun replaces time.time and datetime.datetime while a test runs,
# in every module's attributes too (not inside a tuple).
_REAL_CLOCK = (time.time, datetime.datetime)


def _real_utc_now(remove_tzinfo: bool = True) -> datetime.datetime:
    """botocore.compat.get_current_datetime, on the real clock."""
    real_time, real_datetime = _REAL_CLOCK
    now = real_datetime.fromtimestamp(real_time(), datetime.UTC)
    return now.replace(tzinfo=None) if remove_tzinfo else now


@contextlib.contextmanager
def real_clock_signatures() -> Iterator[None]:
    """While inside, botocore dates SigV4 signatures by the real clock, even if a test froze time."""
    import botocore.auth

    frozen = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = _real_utc_now
    try:
        yield
    finally:
        botocore.auth.get_current_datetime = frozen


def local_aws_endpoint() -> str | None:
    """The endpoint of the local AWS of ORDERS_LOCAL_STATE_DIR when moto's tests are pointed at it, else None."""
    from moto import settings

    if not settings.TEST_SERVER_MODE or not os.environ.get("ORDERS_LOCAL_STATE_DIR"):
        return None
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.append(str(PROJECT_ROOT))  # after moto's: its `tests` package is the one its tests import
    from localaws import instance

    running = instance.running()
    endpoint = settings.test_server_mode_endpoint().rstrip("/")
    return endpoint if running is not None and running.endpoint == endpoint else None


def pytest_configure(config: pytest.Config) -> None:
    """Before moto's test modules are imported (their decorators make the mocks): adapt the mock to the local AWS."""
    endpoint = local_aws_endpoint()
    if endpoint is None:
        return
    from moto.core.models import MockAWS, ServerModeMockAWS

    from localaws import instance
    from localaws.client import LocalAwsCallError
    from localaws.reset import reset_instance

    own = instance.credentials()
    fake_credentials = {"AWS_ACCESS_KEY_ID": own.access_key_id, "AWS_SECRET_ACCESS_KEY": own.secret_access_key}
    original_init = MockAWS.__init__

    def init_with_own_credentials(self: MockAWS, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self._fake_creds = dict(fake_credentials)

    def signed_reset(self: ServerModeMockAWS) -> None:
        # moto's own reset, but signed and to the local AWS's route; moto's switch (MOTO_CALL_RESET_API) still counts.
        if os.environ.get("MOTO_CALL_RESET_API", "").lower() == "false" or ServerModeMockAWS._RESET_IN_PROGRESS:
            return
        ServerModeMockAWS._RESET_IN_PROGRESS = True
        try:
            # Signed at the real time even inside a test's frozen clock: the local AWS, as AWS, refuses a signature
            # dated 15 minutes or more away (moto's unsigned reset has no date to get wrong).
            with real_clock_signatures():
                reset_instance(endpoint)
        except (LocalAwsCallError, OSError) as exc:
            # Warned, not raised, as moto's reset ignores its answer: raised inside mock_aws's start, it would leave
            # the mock half started and every later test's clients pointed at AWS itself.
            warnings.warn(f"the local AWS was not reset: {exc}", pytest.PytestWarning, stacklevel=1)
        finally:
            ServerModeMockAWS._RESET_IN_PROGRESS = False

    MockAWS.__init__ = init_with_own_credentials  # type: ignore[method-assign]
    ServerModeMockAWS.reset = signed_reset  # type: ignore[method-assign]
    config.stash[ADAPTED] = endpoint


ADAPTED = pytest.StashKey[str]()


def pytest_report_header(config: pytest.Config) -> str | None:
    """Say which server the run's requests go to, and whether this plugin adapted the mock to it."""
    endpoint = config.stash.get(ADAPTED, None)
    return f"conformance: the local AWS at {endpoint} (own credentials, signed reset)" if endpoint else None
