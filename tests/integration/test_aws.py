"""The connection (backend.aws): readiness() answers at once and starts connecting on a background thread, which
starts the local AWS where none runs yet."""

from __future__ import annotations

from pathlib import Path

from backend import aws, local_aws


def test_readiness_starts_the_local_aws_in_the_background_and_connection_waits_for_it(own_local_aws: Path) -> None:
    assert local_aws.running() is None
    first = aws.readiness()
    assert first == aws.Readiness(ready=False, starting_local_aws=True)
    connected = aws.connection()  # waits for the start under way; never starts a second one
    running = local_aws.running()
    assert running is not None
    assert connected.endpoint_url == running.endpoint
    assert aws.readiness() == aws.Readiness(ready=True)
    assert local_aws.running() == running  # the same process: one local AWS per machine
