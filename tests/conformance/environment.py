"""The environment the servers and moto's tests run in: the developer's AWS settings (profile, endpoints, keys) and
the app's and moto's switches left out, so neither server nor test is pointed anywhere else."""

from __future__ import annotations

import os

_LEFT_OUT_PREFIXES = ("AWS_", "ORDERS_", "MOTO_", "TEST_SERVER_MODE", "TESTS_", "INITIAL_NO_AUTH", "PYTEST_")


def clean_environment() -> dict[str, str]:
    """This process's environment without AWS's, the app's, moto's and pytest's settings."""
    return {name: value for name, value in os.environ.items() if not name.startswith(_LEFT_OUT_PREFIXES)}
