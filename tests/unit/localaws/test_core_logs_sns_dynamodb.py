"""The smaller services (localaws.services.core, logs, sns, dynamodb): the registry's corrections in force once each,
moto's core reading its module list once, and what each keeps bounded or expires."""

from __future__ import annotations

import gc
import json
import time
import weakref
from collections.abc import Iterator

import boto3
import moto.backends
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from localaws.services import patches, registry
from localaws.services.dynamodb.expiry import expire_items
from localaws.services.logs.retention import prune_log_events
from localaws.services.sns.retention import prune_sent_notifications

REGION = "us-east-1"


@pytest.fixture(scope="module", autouse=True)
def _corrected() -> None:
    registry.apply()


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield


def test_every_registered_correction_is_in_force_once_and_applying_again_changes_nothing() -> None:
    made = {(item.correction, item.target) for item in patches.applied()}
    declared = {
        (correction.name, target)
        for service in registry.REGISTRY
        for correction in service.corrections
        for target in correction.targets
    }
    assert made == declared
    before = {target: patches._current(target) for _, target in made if target.startswith(("moto.", "boto3."))}
    registry.apply()
    assert {target: patches._current(target) for target in before} == before
    kinds = {correction.kind for service in registry.REGISTRY for correction in service.corrections}
    assert kinds == {patches.Kind.FIX, patches.Kind.HOOK}


def test_list_of_moto_modules_matches_the_original_and_is_reiterable() -> None:
    patched = moto.backends.list_of_moto_modules
    original = patched.__wrapped__  # type: ignore[attr-defined]
    assert list(patched()) == list(original())
    assert list(patched()) == list(patched())  # a fresh iterator each call, never an exhausted one
    assert "sqs" in patched()
    assert "__pycache__" not in patched()


def test_a_reset_empties_backends_that_other_backends_recreated_during_the_previous_reset(aws: None) -> None:
    from moto.moto_api._internal.models import moto_api_backend

    ec2 = boto3.client("ec2", region_name=REGION)
    ec2.describe_vpcs()  # registered before AutoScaling, so reset before AutoScaling's backend looks it up again
    boto3.client("autoscaling", region_name=REGION).describe_auto_scaling_groups()
    moto_api_backend.reset()  # AutoScaling's backend, made again, looks EC2's up before moto empties its registry
    ec2.create_vpc(CidrBlock="10.11.0.0/16")

    moto_api_backend.reset()

    assert "10.11.0.0/16" not in {vpc["CidrBlock"] for vpc in ec2.describe_vpcs()["Vpcs"]}


def test_prune_log_events_keeps_the_newest_per_stream(aws: None) -> None:
    client = boto3.client("logs", region_name=REGION)
    client.create_log_group(logGroupName="/app")
    for stream in ("busy", "quiet", "ordered"):
        client.create_log_stream(logGroupName="/app", logStreamName=stream)
    now = int(time.time() * 1000)
    # Newer events first, older ones in a later call: "newest" must follow timestamps, not arrival.
    new = [{"timestamp": now - 1000 + i, "message": f"new-{i:02d}"} for i in range(20)]
    client.put_log_events(logGroupName="/app", logStreamName="busy", logEvents=new)
    old = [{"timestamp": now - 5000 + i, "message": f"old-{i:02d}"} for i in range(10)]
    client.put_log_events(logGroupName="/app", logStreamName="busy", logEvents=old)
    quiet = [{"timestamp": now + i, "message": f"q{i}"} for i in range(3)]
    client.put_log_events(logGroupName="/app", logStreamName="quiet", logEvents=quiet)
    # In time order, as a function's stream arrives; one tie at the cut, kept by arrival.
    for batch in ([0, 1, 2, 3], [3, 4, 5, 6]):
        events = [{"timestamp": now + t, "message": f"o{t}-{n}"} for n, t in enumerate(batch)]
        client.put_log_events(logGroupName="/app", logStreamName="ordered", logEvents=events)

    assert prune_log_events(keep_per_stream=5) == 28

    def messages(stream: str) -> list[str]:
        events = client.get_log_events(logGroupName="/app", logStreamName=stream, startFromHead=True)["events"]
        return [event["message"] for event in events]

    assert messages("busy") == [f"new-{i:02d}" for i in range(15, 20)]
    assert messages("quiet") == ["q0", "q1", "q2"]
    assert messages("ordered") == ["o3-3", "o3-0", "o4-1", "o5-2", "o6-3"]
    streams = {s["logStreamName"]: s for s in client.describe_log_streams(logGroupName="/app")["logStreams"]}
    assert streams["busy"]["storedBytes"] == 5 * len("new-00")
    assert prune_log_events(keep_per_stream=5) == 0


def test_pruned_log_events_and_replaced_items_are_freed(aws: None) -> None:
    """What moto drops is garbage: no class-wide list keeps every model object alive."""
    from moto.dynamodb.models.dynamo_type import Item
    from moto.logs.models import LogEvent

    client = boto3.client("logs", region_name=REGION)
    client.create_log_group(logGroupName="/freed")
    client.create_log_stream(logGroupName="/freed", logStreamName="s")
    event = {"timestamp": int(time.time() * 1000), "message": "m"}
    client.put_log_events(logGroupName="/freed", logStreamName="s", logEvents=[event])
    stream = moto.backends.get_backend("logs")[DEFAULT_ACCOUNT_ID][REGION].groups["/freed"].streams["s"]
    stored = weakref.ref(stream.events[0])
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName="items", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )  # fmt: skip
    dynamodb.put_item(TableName="items", Item={"id": {"S": "a"}, "v": {"N": "1"}})
    table = moto.backends.get_backend("dynamodb")[DEFAULT_ACCOUNT_ID][REGION].tables["items"]
    first_item = weakref.ref(next(iter(table.items.values())))

    prune_log_events(keep_per_stream=0)
    dynamodb.put_item(TableName="items", Item={"id": {"S": "a"}, "v": {"N": "2"}})
    gc.collect()

    assert stored() is None
    assert first_item() is None
    assert LogEvent.instances_tracked == Item.instances_tracked == []


def test_sns_keeps_a_bounded_record_of_published_messages(aws: None) -> None:
    client = boto3.client("sns", region_name=REGION)
    topic = client.create_topic(Name="t")["TopicArn"]
    for i in range(5):
        client.publish(TopicArn=topic, Message=f"m{i}")

    assert prune_sent_notifications(keep_per_topic=2) == 3
    backend = moto.backends.get_backend("sns")[DEFAULT_ACCOUNT_ID][REGION]
    assert [sent[1] for sent in backend.topics[topic].sent_notifications] == ["m3", "m4"]
    assert prune_sent_notifications(keep_per_topic=2) == 0


def test_dynamodb_time_to_live_comes_from_the_template_and_expires_items(aws: None) -> None:
    properties = {
        "TableName": "ttl", "BillingMode": "PAY_PER_REQUEST", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
    }  # fmt: skip
    template = {"Resources": {"Table": {"Type": "AWS::DynamoDB::Table", "Properties": properties}}}
    boto3.client("cloudformation", region_name=REGION).create_stack(StackName="s", TemplateBody=json.dumps(template))
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    described = dynamodb.describe_time_to_live(TableName="ttl")["TimeToLiveDescription"]
    assert described == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiration"}
    now = time.time()
    items = {"past": {"N": str(int(now - 10))}, "future": {"N": str(int(now + 3600))}, "text": {"S": "0"}, "none": None}
    for key, expiration in items.items():
        extra = {"expiration": expiration} if expiration else {}
        dynamodb.put_item(TableName="ttl", Item={"id": {"S": key}, **extra})

    assert expire_items(now) == 1
    left = sorted(item["id"]["S"] for item in dynamodb.scan(TableName="ttl")["Items"])
    assert left == ["future", "none", "text"]
