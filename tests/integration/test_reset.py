"""The local AWS's reset route (POST /_localaws/reset), over HTTP: only the instance's own credentials may wipe it, as
moto's /moto-api/reset wipes moto_server; its administrator keeps working after."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from backend import aws
from localaws import client, instance, reset
from localaws.credentials import ADMIN_USER, Credentials

ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def sqs_as(endpoint: str, key: Credentials) -> object:
    """An SQS client of the local AWS signing with the given key; no retries."""
    return boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key,
        config=Config(retries={"max_attempts": 0}),
    )


def unsigned_post(url: str) -> int:
    """The HTTP status of a plain POST, as any program (or web page) on the machine could send it."""
    request = urllib.request.Request(url, data=b"{}", method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - the local endpoint
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return refused.code


def test_only_the_instances_own_credentials_reset_it_and_they_work_after(own_local_aws: Path) -> None:
    endpoint = aws.connection().endpoint_url or ""  # starts it, stack deployed
    own = instance.credentials()
    queues_before = aws.client("sqs").list_queues()["QueueUrls"]
    assert queues_before, "the stack's queues"
    iam = aws.client("iam")
    iam.create_user(UserName="allowed-everything")
    iam.put_user_policy(UserName="allowed-everything", PolicyName="all", PolicyDocument=json.dumps(ALLOW_ALL))
    made = iam.create_access_key(UserName="allowed-everything")["AccessKey"]
    other = Credentials(access_key_id=made["AccessKeyId"], secret_access_key=made["SecretAccessKey"])
    assert sqs_as(endpoint, other).list_queues()["QueueUrls"] == queues_before  # IAM lets it do anything else

    assert unsigned_post(f"{endpoint}{reset.PATH}") == 403
    with pytest.raises(client.LocalAwsCallError, match="HTTP 403"):
        client.signed_call(endpoint, "POST", reset.PATH, credentials=other)
    with pytest.raises(client.LocalAwsCallError, match="HTTP 405"):
        client.signed_call(endpoint, "GET", reset.PATH)
    assert aws.client("sqs").list_queues()["QueueUrls"] == queues_before  # refused: nothing forgotten

    reset.reset_instance(endpoint)

    sqs = sqs_as(endpoint, own)
    assert sqs.list_queues().get("QueueUrls", []) == []
    assert aws.client("cloudformation").list_stacks()["StackSummaries"] == []
    with pytest.raises(ClientError) as unknown:
        sqs_as(endpoint, other).list_queues()  # the user and its key went with the rest of IAM
    assert unknown.value.response["Error"]["Code"] == "UnrecognizedClientException"
    url = sqs.create_queue(QueueName="after-the-reset")["QueueUrl"]
    assert sqs.list_queues()["QueueUrls"] == [url]
    assert aws.client("iam").get_user(UserName=ADMIN_USER)["User"]["UserName"] == ADMIN_USER
    reset.reset_instance(endpoint)  # and again: the administrator registered afresh each time
    assert sqs.list_queues().get("QueueUrls", []) == []
