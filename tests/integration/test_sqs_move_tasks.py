"""SQS message move tasks through AWS's own CLI on the session's local AWS: a DLQ redriven, listed and cancelled."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

from backend import aws
from tests.conftest import aws_cli_path, local_env_shell, poll

MESSAGES = 20  # at one a second: the task is still running while the CLI starts, lists and cancels it


def _dead_lettered(sqs: Any) -> tuple[str, str, str]:
    """A queue and its DLQ holding MESSAGES dead-lettered; return the queue's URL, the DLQ's URL and ARN."""
    # Queues of its own: the stack's orders queue has a consumer that would take the redriven messages.
    suffix = uuid.uuid4().hex[:8]
    dlq_url = sqs.create_queue(QueueName=f"cli-redrive-dlq-{suffix}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    queue_url = sqs.create_queue(QueueName=f"cli-redrive-{suffix}", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    for start in range(0, MESSAGES, 10):
        entries = [{"Id": str(n), "MessageBody": f"order-{n}"} for n in range(start, min(start + 10, MESSAGES))]
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)

    # A receive past maxReceiveCount moves a message to the DLQ: receive until the queue holds none.
    def emptied() -> bool:
        return not sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages")

    poll(emptied, timeout=30, interval=0, what="the messages dead-lettered")
    assert _depth(sqs, dlq_url) == MESSAGES
    return queue_url, dlq_url, dlq_arn


def _depth(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_the_aws_cli_starts_lists_and_cancels_a_dlq_redrive(local_aws: Any, tmp_path: Path) -> None:
    cli = aws_cli_path()
    sqs = aws.client("sqs")
    queue_url, dlq_url, dlq_arn = _dead_lettered(sqs)
    environment = local_env_shell() | {"HOME": str(tmp_path)}

    def sqs_cli(*args: str) -> Any:
        # AWS CLI v1 ignores AWS_ENDPOINT_URL for sqs (docs/local-aws.md)
        command = [str(cli), "sqs", *args, "--endpoint-url", environment["AWS_ENDPOINT_URL"], "--output", "json"]
        run = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60, check=False)
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout) if run.stdout.strip() else None

    handle = sqs_cli("start-message-move-task", "--source-arn", dlq_arn, "--max-number-of-messages-per-second", "1")[
        "TaskHandle"
    ]
    (running,) = sqs_cli("list-message-move-tasks", "--source-arn", dlq_arn, "--max-results", "10")["Results"]
    assert running.pop("StartedTimestamp") > 0
    assert 1 <= running.pop("ApproximateNumberOfMessagesMoved") < MESSAGES
    # No DestinationArn: each message goes back to the queue it was dead-lettered from.
    assert running == {
        "TaskHandle": handle, "Status": "RUNNING", "SourceArn": dlq_arn, "MaxNumberOfMessagesPerSecond": 1,
        "ApproximateNumberOfMessagesToMove": MESSAGES,
    }  # fmt: skip

    assert "ApproximateNumberOfMessagesMoved" in sqs_cli("cancel-message-move-task", "--task-handle", handle)

    def cancelled() -> dict[str, Any] | None:
        (newest,) = sqs_cli("list-message-move-tasks", "--source-arn", dlq_arn)["Results"]
        return newest if newest["Status"] == "CANCELLED" else None

    moved = poll(cancelled, timeout=30, what="the task cancelled")["ApproximateNumberOfMessagesMoved"]
    assert (_depth(sqs, queue_url), _depth(sqs, dlq_url)) == (moved, MESSAGES - moved)
