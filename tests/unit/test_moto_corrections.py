"""moto corrections (localaws.services): in place, moto's semantics kept, hooks and pruning work."""

from __future__ import annotations

import json
import pathlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import moto
import moto.backends
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from localaws import services
from localaws.services import _patching, logs, stepfunctions
from tests.conftest import poll

REGION = "us-east-1"
ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/sfn"
CONFIG: Any = {
    "stepfunctions": {"execute_state_machine": True},
    "core": {"passthrough": {"services": ["lambda"], "urls": []}},
}
PASS_MACHINE = {
    "StartAt": "A",
    "States": {
        "A": {"Type": "Pass", "Result": {"ok": True}, "Next": "B"},
        "B": {"Type": "Pass", "End": True},
    },
}
FAIL_MACHINE = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "MyError", "Cause": "boom"}}}
WAIT_MACHINE = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3, "End": True}}}


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    return poll(predicate, timeout=timeout, interval=0.01, what="the condition")


@pytest.fixture(scope="module", autouse=True)
def _patched() -> None:
    services.apply()


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws(config=CONFIG):
        yield


@pytest.fixture
def sfn(aws: None) -> Any:
    return boto3.client("stepfunctions", region_name=REGION)


@pytest.fixture
def sqs(aws: None) -> Any:
    return boto3.client("sqs", region_name=REGION)


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Fresh callback lists per test so observers from one test never run in another.
    monkeypatch.setattr(stepfunctions, "_started_callbacks", [])
    monkeypatch.setattr(stepfunctions, "_finished_callbacks", [])


def make_machine(sfn: Any, name: str, definition: dict[str, Any]) -> str:
    created = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)
    return created["stateMachineArn"]


def start(sfn: Any, machine: str, name: str, payload: Any = None) -> str:
    extra = {} if payload is None else {"input": json.dumps(payload)}
    return sfn.start_execution(stateMachineArn=machine, name=name, **extra)["executionArn"]


def statuses(sfn: Any, machine: str) -> list[str]:
    return [e["status"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]]


def final_status(sfn: Any, arn: str) -> str:
    def done() -> str | None:
        status: str = sfn.describe_execution(executionArn=arn)["status"]
        return None if status == "RUNNING" else status

    return wait_until(done)


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


def test_every_module_importing_boto_client_for_gets_the_cached_one() -> None:
    import importlib

    from moto.stepfunctions.parser.asl.utils import boto_client

    parser_dir = pathlib.Path(moto.__file__).parent / "stepfunctions" / "parser"
    users = {
        ".".join(("moto", *path.relative_to(pathlib.Path(moto.__file__).parent).with_suffix("").parts))
        for path in parser_dir.rglob("*.py")
        if "import boto_client_for" in path.read_text()
    }
    # If moto grows a new user, this fails until _BOTO_CLIENT_USERS lists it.
    assert users == set(stepfunctions._BOTO_CLIENT_USERS)
    for name in users:
        assert importlib.import_module(name).boto_client_for is boto_client.boto_client_for, name


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


# --- boto_client_for cache -------------------------------------------------------------------------------


def test_boto_client_for_caches_per_key(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import StateCredentials
    from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

    monkeypatch.setattr(stepfunctions, "_client_cache", {})
    sqs_client = boto_client_for(REGION, "sqs")
    assert boto_client_for(REGION, "sqs") is sqs_client
    assert boto_client_for(REGION, "sqs", None) is sqs_client
    assert boto_client_for(REGION, "sns") is not sqs_client
    assert boto_client_for("eu-west-1", "sqs") is not sqs_client
    creds = StateCredentials(role_arn=ROLE)  # an unhashable dataclass
    with_creds = boto_client_for(REGION, "sqs", creds)
    assert with_creds is not sqs_client
    assert boto_client_for(REGION, "sqs", StateCredentials(role_arn=ROLE)) is with_creds
    assert boto_client_for(REGION, "sqs", StateCredentials(role_arn=ROLE + "2")) is not with_creds


def test_boto_client_for_keeps_the_env_derived_endpoint(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

    monkeypatch.setattr(stepfunctions, "_client_cache", {})
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:7001")
    first = boto_client_for(REGION, "lambda")
    assert first.meta.endpoint_url == "http://127.0.0.1:7001"
    assert boto_client_for(REGION, "lambda") is first
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:7002")
    second = boto_client_for(REGION, "lambda")
    assert second is not first
    assert second.meta.endpoint_url == "http://127.0.0.1:7002"


def test_boto_client_for_separates_stubbed_and_server_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

    monkeypatch.setattr(stepfunctions, "_client_cache", {})
    monkeypatch.setenv("MOTO_PORT", "5123")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_SQS", raising=False)
    outside = boto_client_for(REGION, "sqs")  # no mock active: the original points it at the moto server
    assert outside.meta.endpoint_url == "http://localhost:5123"
    with mock_aws(config=CONFIG):
        inside = boto_client_for(REGION, "sqs")
    assert inside is not outside
    assert inside.meta.endpoint_url != "http://localhost:5123"


def test_execution_tasks_reuse_one_client(sfn: Any, sqs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    cache: dict[tuple[Any, ...], Any] = {}
    monkeypatch.setattr(stepfunctions, "_client_cache", cache)
    queue_url = sqs.create_queue(QueueName="from-sfn")["QueueUrl"]
    machine = make_machine(
        sfn,
        "send",
        {
            "StartAt": "Send",
            "States": {
                "Send": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage",
                    "Parameters": {"QueueUrl": queue_url, "MessageBody.$": "$.body"},
                    "End": True,
                }
            },
        },
    )
    arns = [start(sfn, machine, f"s{i}", {"body": f"m{i}"}) for i in range(3)]
    assert [final_status(sfn, arn) for arn in arns] == ["SUCCEEDED"] * 3
    assert [key[1] for key in cache] == ["sqs"]  # built once, through the cached boto_client_for
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "3"


# --- execution hooks ---------------------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, str, str | None, Any, Any, Any]] = []

    def started(self, execution: Any) -> None:
        self._record("started", execution)

    def finished(self, execution: Any) -> None:
        self._record("finished", execution)

    def _record(self, kind: str, execution: Any) -> None:
        status = execution.exec_status.value if execution.exec_status else None
        with self.lock:
            self.events.append(
                (kind, execution.exec_arn, status, execution.stop_date, execution.error, execution.cause)
            )

    def of(self, arn: str) -> list[tuple[str, str, str | None, Any, Any, Any]]:
        with self.lock:
            return [event for event in self.events if event[1] == arn]


def explode(execution: Any) -> None:
    raise ValueError("observer bug")


@pytest.mark.usefixtures("hooks")
def test_hooks_fire_with_terminal_status(sfn: Any, caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder()
    stepfunctions.on_execution_started(explode)
    stepfunctions.on_execution_started(recorder.started)
    stepfunctions.on_execution_finished(explode)
    stepfunctions.on_execution_finished(recorder.finished)
    ok = start(sfn, make_machine(sfn, "ok", PASS_MACHINE), "o1")
    bad = start(sfn, make_machine(sfn, "bad", FAIL_MACHINE), "f1")

    wait_until(lambda: len(recorder.of(ok)) == 2 and len(recorder.of(bad)) == 2)
    (ok_start, ok_end), (bad_start, bad_end) = recorder.of(ok), recorder.of(bad)
    assert ok_start[:4] == ("started", ok, "RUNNING", None)
    assert ok_end[:3] == ("finished", ok, "SUCCEEDED")
    assert ok_end[3] is not None
    assert bad_start[:3] == ("started", bad, "RUNNING")
    assert bad_end[:3] == ("finished", bad, "FAILED")
    assert bad_end[3] is not None
    assert bad_end[4:] == ("MyError", "boom")

    # The raising observers changed nothing: both executions ended normally and report it.
    described = sfn.describe_execution(executionArn=ok)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"ok": True}
    assert sfn.describe_execution(executionArn=bad)["error"] == "MyError"
    assert "observer bug" in caplog.text


@pytest.mark.usefixtures("hooks")
def test_hooks_fire_once_in_order_for_many_and_for_aborted(sfn: Any) -> None:
    recorder = Recorder()
    stepfunctions.on_execution_started(recorder.started)
    stepfunctions.on_execution_finished(recorder.finished)
    machine = make_machine(sfn, "many", PASS_MACHINE)
    arns = [start(sfn, machine, f"m{i}") for i in range(8)]
    waiting = start(sfn, make_machine(sfn, "w", WAIT_MACHINE), "w")
    sfn.stop_execution(executionArn=waiting)
    wait_until(lambda: all(len(recorder.of(arn)) == 2 for arn in [*arns, waiting]))
    for arn in arns:
        assert [event[:3] for event in recorder.of(arn)] == [
            ("started", arn, "RUNNING"),
            ("finished", arn, "SUCCEEDED"),
        ]
    assert recorder.of(waiting)[1][:3] == ("finished", waiting, "ABORTED")


# --- pruning ---------------------------------------------------------------------------------------------


def test_compaction_keeps_detail_for_the_newest_an_outcome_for_the_rest_and_drops_the_old(sfn: Any) -> None:
    waiter = make_machine(sfn, "waiter", WAIT_MACHINE)
    running = start(sfn, waiter, "still-running")
    machine = make_machine(sfn, "pass", PASS_MACHINE)
    arns = [start(sfn, machine, f"run-{i:02d}", {"n": i}) for i in range(30)]
    wait_until(lambda: statuses(sfn, machine) == ["SUCCEEDED"] * 30)

    assert stepfunctions.compact_finished_executions(keep_detail=10, keep_records=1000, keep_seconds=3600) == (20, 0)
    listed = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert [e["executionArn"] for e in listed] == arns[::-1]  # every one still listed, newest first
    assert {e["status"] for e in listed} == {"SUCCEEDED"}
    newest = sfn.describe_execution(executionArn=arns[-1])
    assert (json.loads(newest["input"]), newest["outputDetails"]["included"]) == ({"n": 29}, True)
    compact = sfn.describe_execution(executionArn=arns[0])
    assert (compact["status"], "input" in compact, compact["outputDetails"]["included"]) == ("SUCCEEDED", False, False)
    with pytest.raises(sfn.exceptions.ClientError, match="keeps the history of the newest"):
        sfn.get_execution_history(executionArn=arns[0])
    assert len(sfn.get_execution_history(executionArn=arns[-1])["events"]) > 2
    assert stepfunctions.compact_finished_executions(keep_detail=10, keep_records=1000, keep_seconds=3600) == (0, 0)
    # A RUNNING listing reads no compact record; a listing of another status reads them all.
    assert sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")["executions"] == []
    succeeded = sfn.list_executions(stateMachineArn=machine, statusFilter="SUCCEEDED", maxResults=7)
    assert [e["executionArn"] for e in succeeded["executions"]] == arns[:-8:-1]
    assert succeeded["nextToken"]

    # Beyond the record limit the oldest go; beyond the retention nothing is kept; a running one is never touched.
    # What went is known by the start time of the newest one dropped (a lookup tells "expired" from "unknown").
    started = {e["executionArn"]: e["startDate"].timestamp() for e in listed}
    assert stepfunctions.compact_finished_executions(keep_detail=10, keep_records=25, keep_seconds=3600) == (0, 5)
    assert stepfunctions.forgotten_through() == pytest.approx(started[arns[4]], abs=0.001)
    listed = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert [e["executionArn"] for e in listed] == arns[:4:-1]
    assert stepfunctions.compact_finished_executions(keep_detail=0, keep_records=1000, keep_seconds=0) == (0, 25)
    assert stepfunctions.forgotten_through() == pytest.approx(started[arns[-1]], abs=0.001)
    assert sfn.list_executions(stateMachineArn=machine)["executions"] == []
    with pytest.raises(sfn.exceptions.ExecutionDoesNotExist):
        sfn.describe_execution(executionArn=arns[0])
    assert sfn.describe_execution(executionArn=running)["status"] == "RUNNING"


def test_compaction_loses_nothing_under_concurrent_starts(sfn: Any) -> None:
    machines = [make_machine(sfn, f"pm{i}", PASS_MACHINE) for i in range(2)]
    started: list[str] = []

    def starter() -> None:
        client = boto3.client("stepfunctions", region_name=REGION)
        for i in range(40):
            started.append(start(client, machines[i % 2], f"c{i}"))

    thread = threading.Thread(target=starter)
    thread.start()
    while thread.is_alive():
        stepfunctions.compact_finished_executions(keep_detail=5, keep_records=1000, keep_seconds=3600)
    thread.join()

    def remaining() -> list[dict[str, Any]]:
        return [e for m in machines for e in sfn.list_executions(stateMachineArn=m)["executions"]]

    wait_until(lambda: len(remaining()) == 40 and all(e["status"] == "SUCCEEDED" for e in remaining()))
    stepfunctions.compact_finished_executions(keep_detail=5, keep_records=1000, keep_seconds=3600)
    assert sorted(e["executionArn"] for e in remaining()) == sorted(started)
    detailed = [arn for arn in started if "input" in sfn.describe_execution(executionArn=arn)]
    assert detailed == started[-5:]


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


def test_asl_parse_is_shared_only_for_definitions_without_parallel_or_map() -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    definition = json.dumps(PASS_MACHINE)
    first, _ = AmazonStateLanguageParser.parse(definition)
    again, _ = AmazonStateLanguageParser.parse(definition)
    assert first is again
    parallel = json.dumps(
        {"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True, "Branches": [PASS_MACHINE]}}}
    )
    assert AmazonStateLanguageParser.parse(parallel)[0] is not AmazonStateLanguageParser.parse(parallel)[0]


def test_a_shared_parse_still_runs_executions_independently(sfn: Any) -> None:
    arn = sfn.create_state_machine(name="shared", definition=json.dumps(PASS_MACHINE), roleArn=ROLE)["stateMachineArn"]
    runs = [sfn.start_execution(stateMachineArn=arn, name=f"run{i}", input=json.dumps({"i": i})) for i in range(5)]

    def outputs() -> list[Any] | None:
        described = [sfn.describe_execution(executionArn=run["executionArn"]) for run in runs]
        return (
            [json.loads(d["output"]) for d in described] if all(d["status"] == "SUCCEEDED" for d in described) else None
        )

    assert wait_until(outputs) == [{"ok": True}] * 5


def test_jsonpath_parses_are_cached() -> None:
    from moto.stepfunctions.parser.asl.utils import json_path

    assert json_path.parse("$.order.lines[0]") is json_path.parse("$.order.lines[0]")
    assert json_path.extract_json("$.order.customer", {"order": {"customer": "A"}}) == "A"


def test_stop_aborts_with_the_given_error_and_cause_and_leaves_finished_executions_alone(sfn: Any) -> None:
    waiting = sfn.create_state_machine(name="w", definition=json.dumps(WAIT_MACHINE), roleArn=ROLE)["stateMachineArn"]
    running = sfn.start_execution(stateMachineArn=waiting, name="stop-me")["executionArn"]
    sfn.stop_execution(executionArn=running, error="OperatorStopped", cause="stopped by ops")
    stopped = sfn.describe_execution(executionArn=running)  # as on AWS, ABORTED as soon as the stop answered
    assert (stopped["status"], stopped.get("error"), stopped.get("cause")) == (
        "ABORTED",
        "OperatorStopped",
        "stopped by ops",
    )

    passing = sfn.create_state_machine(name="p", definition=json.dumps(PASS_MACHINE), roleArn=ROLE)["stateMachineArn"]
    done = sfn.start_execution(stateMachineArn=passing, name="done")["executionArn"]
    wait_until(lambda: sfn.describe_execution(executionArn=done)["status"] == "SUCCEEDED")
    sfn.stop_execution(executionArn=done)
    assert sfn.describe_execution(executionArn=done)["status"] == "SUCCEEDED"


def test_a_redrive_right_after_a_stop_runs_and_the_stopped_attempt_does_not_end_it(sfn: Any) -> None:
    waiting = sfn.create_state_machine(name="w2", definition=json.dumps(WAIT_MACHINE), roleArn=ROLE)["stateMachineArn"]
    for attempt in range(5):
        arn = sfn.start_execution(stateMachineArn=waiting, name=f"again-{attempt}")["executionArn"]
        sfn.stop_execution(executionArn=arn)
        sfn.redrive_execution(executionArn=arn)
        assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
        sfn.stop_execution(executionArn=arn, error="Done", cause="twice")
        final = wait_until(
            lambda a=arn: (
                "ExecutionAborted" in [e["type"] for e in sfn.get_execution_history(executionArn=a)["events"][-1:]]
            )
        )
        assert final
        assert sfn.describe_execution(executionArn=arn)["error"] == "Done"


def test_list_pages_stay_valid_while_executions_finish_and_start(sfn: Any) -> None:
    waiting = make_machine(sfn, "pages", WAIT_MACHINE)
    arns = [start(sfn, waiting, f"e{index:02d}") for index in range(25)]
    first = sfn.list_executions(stateMachineArn=waiting, statusFilter="RUNNING", maxResults=10)
    assert [e["name"] for e in first["executions"]] == [f"e{index:02d}" for index in range(24, 14, -1)]
    # Meanwhile the execution the token points after, and others on the next page, end; new ones start.
    for arn in arns[10:16]:
        sfn.stop_execution(executionArn=arn)
    for index in range(3):
        start(sfn, waiting, f"new{index}")
    rest = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=waiting,
        statusFilter="RUNNING",
        PaginationConfig={"PageSize": 10, "StartingToken": first["nextToken"]},
    )
    names = [e["name"] for page in rest for e in page["executions"]]
    assert names == [f"e{index:02d}" for index in range(9, -1, -1)]
    with pytest.raises(sfn.exceptions.InvalidToken):
        sfn.list_executions(stateMachineArn=waiting, nextToken="not-a-token")
    assert sfn.describe_execution(executionArn=arns[3])["name"] == "e03"
    with pytest.raises(sfn.exceptions.ExecutionDoesNotExist):
        sfn.describe_execution(executionArn=arns[3] + "x")


def test_list_executions_written_directly_reads_as_moto_serializer_wrote_it(
    sfn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.stepfunctions.responses import StepFunctionResponse

    machine = make_machine(sfn, "listed", PASS_MACHINE)
    failing = make_machine(sfn, "failing", FAIL_MACHINE)
    for index in range(5):
        final_status(sfn, start(sfn, machine, f"e{index}"))
    final_status(sfn, start(sfn, failing, "f"))
    running = make_machine(sfn, "running", WAIT_MACHINE)
    start(sfn, running, "r")
    queries = [
        {"stateMachineArn": machine, "maxResults": 2},
        {"stateMachineArn": machine, "statusFilter": "SUCCEEDED"},
        {"stateMachineArn": failing},
        {"stateMachineArn": running},
    ]
    ours = [sfn.list_executions(**query) for query in queries]
    assert "nextToken" in ours[0]
    assert all("nextToken" not in page for page in ours[1:])
    assert {item["status"] for page in ours for item in page["executions"]} == {"SUCCEEDED", "FAILED", "RUNNING"}
    monkeypatch.setattr(StepFunctionResponse, "list_executions", StepFunctionResponse.list_executions.__wrapped__)
    for query, page in zip(queries, ours, strict=True):
        assert sfn.list_executions(**query)["executions"] == page["executions"]


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


def test_executions_beyond_the_running_limit_wait_their_turn_as_running(
    sfn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What earlier tests started has ended (the journal tests leave executions of a stopped mock running to their end).
    wait_until(lambda: stepfunctions.running_executions.running == 0, timeout=60)
    monkeypatch.setattr(stepfunctions.running_executions, "limit", 2)
    short_wait = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}
    machine = make_machine(sfn, "queued", short_wait)
    arns = [start(sfn, machine, f"q{i}") for i in range(5)]

    assert stepfunctions.running_executions.running == 2
    assert len(stepfunctions.running_executions._waiting) == 3
    assert sfn.describe_execution(executionArn=arns[-1])["status"] == "RUNNING"
    peak = 0

    def all_done() -> bool:
        nonlocal peak
        peak = max(peak, stepfunctions.running_executions.running)
        return statuses(sfn, machine) == ["SUCCEEDED"] * 5

    wait_until(all_done, timeout=15)
    assert peak <= 2
    assert stepfunctions.running_executions.running == 0
