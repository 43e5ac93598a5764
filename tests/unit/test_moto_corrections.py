"""moto corrections (localaws.services): in place, moto's semantics kept, hooks and pruning work."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import moto
import moto.backends
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from localaws import services
from localaws.services import _patching, logs

REGION = "us-east-1"
CONFIG: Any = {
    "stepfunctions": {"execute_state_machine": True},
    "core": {"passthrough": {"services": ["lambda"], "urls": []}},
}


@pytest.fixture(scope="module", autouse=True)
def _patched() -> None:
    services.apply()


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws(config=CONFIG):
        yield


# --- apply() ---------------------------------------------------------------------------------------------


def test_apply_is_idempotent_and_every_patch_is_in_place() -> None:
    import moto.sqs.models as sqs_models
    from moto.stepfunctions.parser.asl.utils import boto_client
    from moto.stepfunctions.parser.backend import execution, execution_worker

    services.apply()
    first = (moto.backends.list_of_moto_modules, boto_client.boto_client_for, sqs_models.unix_time_millis)
    services.apply()
    assert (
        moto.backends.list_of_moto_modules,
        boto_client.boto_client_for,
        sqs_models.unix_time_millis,
    ) == first
    patched = [
        *first,
        sqs_models.SQSBackend.is_message_valid_based_on_retention_period,
        execution.BaseExecutionWorkerCommunication.terminated,
        execution_worker.ExecutionWorker.start,
        execution_worker.SyncExecutionWorker.start,
    ]
    for func in patched:
        assert getattr(func, _patching.MARK, False), func
        # Wrapped exactly once: the original underneath is moto's own function, not another patch.
        assert not getattr(func.__wrapped__, _patching.MARK, False), func


def test_list_of_moto_modules_matches_the_original_and_is_reiterable() -> None:
    patched = moto.backends.list_of_moto_modules
    original = patched.__wrapped__  # type: ignore[attr-defined]
    assert list(patched()) == list(original())
    assert list(patched()) == list(patched())  # a fresh iterator each call, never an exhausted one
    assert "sqs" in patched()
    assert "stepfunctions" in patched()
    assert "__pycache__" not in patched()


def test_version_mismatch_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moto, "__version__", "5.2.6")
    with pytest.raises(RuntimeError, match=r"5\.2\.6"):
        services.apply()


def test_a_patch_that_no_longer_applies_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto.sqs.models as sqs_models

    monkeypatch.setattr(services, "_applied", False)
    monkeypatch.setattr(sqs_models, "unix_time_millis", lambda dt=None: 0.0)
    with pytest.raises(RuntimeError, match="SQS unix_time_millis"):
        services.apply()


# --- pruning ---------------------------------------------------------------------------------------------


def test_prune_log_events_keeps_the_newest_per_stream(aws: None) -> None:
    client = boto3.client("logs", region_name=REGION)
    client.create_log_group(logGroupName="/app")
    client.create_log_stream(logGroupName="/app", logStreamName="busy")
    client.create_log_stream(logGroupName="/app", logStreamName="quiet")
    client.create_log_stream(logGroupName="/app", logStreamName="ordered")
    now = int(time.time() * 1000)
    # Newer events first, older ones in a later call: "newest" must follow timestamps, not arrival.
    client.put_log_events(
        logGroupName="/app",
        logStreamName="busy",
        logEvents=[{"timestamp": now - 1000 + i, "message": f"new-{i:02d}"} for i in range(20)],
    )
    client.put_log_events(
        logGroupName="/app",
        logStreamName="busy",
        logEvents=[{"timestamp": now - 5000 + i, "message": f"old-{i:02d}"} for i in range(10)],
    )
    client.put_log_events(
        logGroupName="/app",
        logStreamName="quiet",
        logEvents=[{"timestamp": now + i, "message": f"q{i}"} for i in range(3)],
    )
    # In time order, as a function's stream arrives; one tie at the cut, kept by arrival.
    for batch in ([0, 1, 2, 3], [3, 4, 5, 6]):
        client.put_log_events(
            logGroupName="/app",
            logStreamName="ordered",
            logEvents=[{"timestamp": now + t, "message": f"o{t}-{n}"} for n, t in enumerate(batch)],
        )

    assert logs.prune_log_events(keep_per_stream=5) == 28
    busy = client.get_log_events(logGroupName="/app", logStreamName="busy", startFromHead=True)["events"]
    assert [e["message"] for e in busy] == [f"new-{i:02d}" for i in range(15, 20)]
    quiet = client.get_log_events(logGroupName="/app", logStreamName="quiet", startFromHead=True)["events"]
    assert [e["message"] for e in quiet] == ["q0", "q1", "q2"]
    ordered = client.get_log_events(logGroupName="/app", logStreamName="ordered", startFromHead=True)["events"]
    assert [e["message"] for e in ordered] == ["o3-3", "o3-0", "o4-1", "o5-2", "o6-3"]
    streams = {s["logStreamName"]: s for s in client.describe_log_streams(logGroupName="/app")["logStreams"]}
    assert streams["busy"]["storedBytes"] == 5 * len("new-00")
    assert logs.prune_log_events(keep_per_stream=5) == 0


def test_pruned_log_events_and_replaced_items_are_freed(aws: None) -> None:
    """What moto drops is garbage: no class-wide list keeps every model object alive."""
    import gc
    import weakref

    from moto.dynamodb.models.dynamo_type import Item
    from moto.logs.models import LogEvent

    client = boto3.client("logs", region_name=REGION)
    client.create_log_group(logGroupName="/freed")
    client.create_log_stream(logGroupName="/freed", logStreamName="s")
    client.put_log_events(
        logGroupName="/freed", logStreamName="s", logEvents=[{"timestamp": int(time.time() * 1000), "message": "m"}]
    )
    stream = moto.backends.get_backend("logs")[DEFAULT_ACCOUNT_ID][REGION].groups["/freed"].streams["s"]
    event = weakref.ref(stream.events[0])
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName="items",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="items", Item={"id": {"S": "a"}, "v": {"N": "1"}})
    table = moto.backends.get_backend("dynamodb")[DEFAULT_ACCOUNT_ID][REGION].tables["items"]
    first_item = weakref.ref(next(iter(table.items.values())))

    logs.prune_log_events(keep_per_stream=0)
    dynamodb.put_item(TableName="items", Item={"id": {"S": "a"}, "v": {"N": "2"}})
    gc.collect()

    assert event() is None
    assert first_item() is None
    assert LogEvent.instances_tracked == Item.instances_tracked == []


def test_sns_keeps_a_bounded_record_of_published_messages(aws: None) -> None:
    from localaws.services import sns as local_sns

    client = boto3.client("sns", region_name=REGION)
    topic = client.create_topic(Name="t")["TopicArn"]
    for i in range(5):
        client.publish(TopicArn=topic, Message=f"m{i}")

    assert local_sns.prune_sent_notifications(keep_per_topic=2) == 3
    backend = moto.backends.get_backend("sns")[DEFAULT_ACCOUNT_ID][REGION]
    assert [sent[1] for sent in backend.topics[topic].sent_notifications] == ["m3", "m4"]
    assert local_sns.prune_sent_notifications(keep_per_topic=2) == 0


def test_dynamodb_time_to_live_comes_from_the_template_and_expires_items(aws: None) -> None:
    from localaws.services import dynamodb as local_dynamodb

    template = {
        "Resources": {
            "Table": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "TableName": "ttl",
                    "BillingMode": "PAY_PER_REQUEST",
                    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                    "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
                },
            }
        }
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(StackName="s", TemplateBody=json.dumps(template))
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    described = dynamodb.describe_time_to_live(TableName="ttl")["TimeToLiveDescription"]
    assert described == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiration"}
    now = time.time()
    items = {"past": {"N": str(int(now - 10))}, "future": {"N": str(int(now + 3600))}, "text": {"S": "0"}, "none": None}
    for key, expiration in items.items():
        extra = {"expiration": expiration} if expiration else {}
        dynamodb.put_item(TableName="ttl", Item={"id": {"S": key}, **extra})

    assert local_dynamodb.expire_items(now) == 1
    left = sorted(item["id"]["S"] for item in dynamodb.scan(TableName="ttl")["Items"])
    assert left == ["future", "none", "text"]
