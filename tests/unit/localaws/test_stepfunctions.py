"""Step Functions (localaws/services/stepfunctions): moto's, in process, with the service's corrections in place; the
emulator's record of each execution, its lifecycle events, the journal and the provider's lifecycle."""

from __future__ import annotations

import importlib
import io
import json
import pathlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import moto
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from localaws.journal import FILE_NAME, Journal
from localaws.services import patches
from localaws.services.stepfunctions import (
    compaction,
    events,
    journal,
    records,
    redrive,
    running,
    stop,
    task_clients,
)
from localaws.services.stepfunctions.provider import StepFunctions
from tests.conftest import poll
from tests.unit.localaws.conftest import Instance, current, made_by

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
HOOKS = {"Step Functions execution hooks", "Step Functions journal"}  # the rest make moto answer as AWS does


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    return poll(predicate, timeout=timeout, interval=0.01, what="the condition")


@pytest.fixture(scope="module", autouse=True)
def _corrected() -> None:
    patches.apply_all(StepFunctions.corrections)


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
def subscribe() -> Iterator[Callable[[events.Event[Any], Callable[[Any], None]], None]]:
    """Subscribe to an event for one test only."""
    made: list[tuple[events.Event[Any], Callable[[Any], None]]] = []

    def subscribe(event: events.Event[Any], subscriber: Callable[[Any], None]) -> None:
        event.subscribe(subscriber)
        made.append((event, subscriber))

    yield subscribe
    for event, subscriber in made:
        event.unsubscribe(subscriber)


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


def moto_execution(arn: str) -> Any:
    """moto's own execution object behind an ARN."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    return stepfunctions_parser_backends[DEFAULT_ACCOUNT_ID][REGION].describe_execution(arn)


# --- the corrections ------------------------------------------------------------------------------------------------


def test_every_correction_is_declared_once_as_a_fix_or_a_hook_and_no_target_twice() -> None:
    corrections = StepFunctions.corrections
    assert len({correction.name for correction in corrections}) == len(corrections) == 13
    assert {c.name for c in corrections if c.kind is patches.Kind.HOOK} == HOOKS
    targets = [target for correction in corrections for target in correction.targets]
    assert len(targets) == len(set(targets))


def test_a_correction_applied_again_is_not_applied_twice() -> None:
    targets = {target: c.name for c in StepFunctions.corrections for target in c.targets}
    before = {target: current(target) for target in targets}
    patches.apply_all(StepFunctions.corrections)
    patches.apply_all(StepFunctions.corrections)
    assert {target: current(target) for target in targets} == before  # the very same objects
    for target, name in targets.items():
        assert made_by(current(target)) == [name], target  # once, over moto's own
    assert sorted((a.correction, a.target) for a in patches.applied()) == sorted((n, t) for t, n in targets.items())


def test_redrive_is_refused_once_moto_implements_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.stepfunctions.responses import StepFunctionResponse

    monkeypatch.setattr(StepFunctionResponse, "redrive_execution", lambda self: None, raising=False)
    with pytest.raises(patches.CorrectionError, match=r"moto now has .*redrive_execution: drop this correction"):
        redrive.redrive_executions.apply()


# --- task clients ---------------------------------------------------------------------------------------------------


def test_every_module_importing_boto_client_for_gets_the_cached_one() -> None:
    from moto.stepfunctions.parser.asl.utils import boto_client

    parser_dir = pathlib.Path(moto.__file__).parent / "stepfunctions" / "parser"
    users = {
        ".".join(("moto", *path.relative_to(pathlib.Path(moto.__file__).parent).with_suffix("").parts))
        for path in parser_dir.rglob("*.py")
        if "import boto_client_for" in path.read_text()
    }
    # If moto grows a new user, this fails until BOTO_CLIENT_USERS lists it.
    assert users == set(task_clients.BOTO_CLIENT_USERS)
    for name in users:
        assert importlib.import_module(name).boto_client_for is boto_client.boto_client_for, name


def test_boto_client_for_caches_per_key(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import StateCredentials
    from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

    monkeypatch.setattr(task_clients, "_client_cache", {})
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

    monkeypatch.setattr(task_clients, "_client_cache", {})
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

    monkeypatch.setattr(task_clients, "_client_cache", {})
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
    monkeypatch.setattr(task_clients, "_client_cache", cache)
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


def test_lambda_invokes_of_task_states_are_answered_by_the_offer_in_process(
    sfn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(task_clients, "_client_cache", {})
    calls: list[tuple[str, dict[str, Any]]] = []

    def invoke(region: str, parameters: dict[str, Any]) -> dict[str, Any]:
        calls.append((region, parameters))
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps({"doubled": 42}).encode())}

    task_clients.route_lambda_invocations(invoke)
    try:
        machine = make_machine(
            sfn,
            "invoking",
            {
                "StartAt": "Call",
                "States": {
                    "Call": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": "double", "Payload.$": "$"},
                        "OutputPath": "$.Payload",
                        "End": True,
                    }
                },
            },
        )
        arn = start(sfn, machine, "i1", {"n": 21})
        assert final_status(sfn, arn) == "SUCCEEDED"
    finally:
        task_clients.route_lambda_invocations(None)
    assert json.loads(sfn.describe_execution(executionArn=arn)["output"]) == {"doubled": 42}
    assert [(region, parameters["FunctionName"]) for region, parameters in calls] == [(REGION, "double")]


# --- the emulator's record of an execution, and its lifecycle events ------------------------------------------------


def test_the_record_of_an_execution_is_one_typed_record_made_on_first_use() -> None:
    execution = SimpleNamespace()
    kept = records.record(execution)
    assert kept is records.record(execution)
    assert kept == records.ExecutionRecord()
    assert (kept.started_reported, kept.finished_reported, kept.stop_request, kept.prior_events) == (
        False,
        False,
        None,
        None,
    )
    assert [kept.claim_start(), kept.claim_start()] == [True, False]
    assert [kept.claim_finish(), kept.claim_finish()] == [True, False]
    assert list(vars(execution)) == ["_localaws_record"]  # one attribute, not a flag per concern
    worker = SimpleNamespace()
    assert records.worker_record(worker) is records.worker_record(worker)
    assert records.worker_record(worker).pending_stop is None


def test_the_record_follows_an_execution_through_a_stop_and_a_redrive(sfn: Any) -> None:
    arn = start(sfn, make_machine(sfn, "recorded", WAIT_MACHINE), "r1")
    kept = records.record(moto_execution(arn))
    assert (kept.started_reported, kept.stop_request, kept.redrive_count) == (True, None, 0)
    sfn.stop_execution(executionArn=arn, error="Ops", cause="by hand")
    assert kept.stop_request == ("Ops", "by hand")
    wait_until(lambda: kept.finished_reported)
    sfn.redrive_execution(executionArn=arn)
    assert (kept.stop_request, kept.finished_reported, kept.redrive_count) == (None, False, 1)
    assert [event["type"] for event in kept.prior_events or []][-1] == "ExecutionAborted"
    sfn.stop_execution(executionArn=arn)
    wait_until(lambda: kept.finished_reported)


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, str, str | None, Any, Any, Any]] = []

    def started(self, execution: Any) -> None:
        self._record("started", execution)

    def finished(self, execution: Any) -> None:
        self._record("finished", execution)

    def stopped(self, execution: Any) -> None:
        self._record("stopped", execution)

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


def test_events_are_published_with_terminal_status(sfn: Any, subscribe: Any, caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder()
    subscribe(events.started, explode)
    subscribe(events.started, recorder.started)
    subscribe(events.finished, explode)
    subscribe(events.finished, recorder.finished)
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


def test_events_are_published_once_in_order_for_many_and_for_aborted(sfn: Any, subscribe: Any) -> None:
    recorder = Recorder()
    subscribe(events.started, recorder.started)
    subscribe(events.finished, recorder.finished)
    subscribe(events.stopped, recorder.stopped)
    machine = make_machine(sfn, "many", PASS_MACHINE)
    arns = [start(sfn, machine, f"m{i}") for i in range(8)]
    waiting = start(sfn, make_machine(sfn, "w", WAIT_MACHINE), "w")
    sfn.stop_execution(executionArn=waiting)
    wait_until(lambda: all(len(recorder.of(arn)) == 2 for arn in arns) and len(recorder.of(waiting)) == 3)
    for arn in arns:
        assert [event[:3] for event in recorder.of(arn)] == [
            ("started", arn, "RUNNING"),
            ("finished", arn, "SUCCEEDED"),
        ]
    assert [event[:3] for event in recorder.of(waiting)] == [
        ("started", waiting, "RUNNING"),
        ("stopped", waiting, "ABORTED"),  # as StopExecution answers
        ("finished", waiting, "ABORTED"),
    ]


def test_a_participant_that_fails_fails_what_published_the_event() -> None:
    ending: events.Event[Any] = events.Event("ending", contained=False)
    ending.subscribe(explode)
    with pytest.raises(ValueError, match="observer bug"):
        ending.publish(SimpleNamespace(exec_arn="arn"))
    ending.unsubscribe(explode)
    ending.publish(SimpleNamespace(exec_arn="arn"))


def test_executions_beyond_the_running_limit_wait_their_turn_as_running(
    sfn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    limiter = running.running_executions
    wait_until(lambda: limiter.running == 0, timeout=60)  # what earlier tests started has ended
    monkeypatch.setattr(limiter, "limit", 2)
    short_wait = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}
    machine = make_machine(sfn, "queued", short_wait)
    arns = [start(sfn, machine, f"q{i}") for i in range(5)]

    assert limiter.running == 2
    assert len(limiter._waiting) == 3
    assert sfn.describe_execution(executionArn=arns[-1])["status"] == "RUNNING"
    peak = 0

    def all_done() -> bool:
        nonlocal peak
        peak = max(peak, limiter.running)
        return statuses(sfn, machine) == ["SUCCEEDED"] * 5

    wait_until(all_done, timeout=15)
    assert peak <= 2
    assert limiter.running == 0


# --- StopExecution and RedriveExecution -----------------------------------------------------------------------------


def test_stop_aborts_with_the_given_error_and_cause_and_leaves_finished_executions_alone(sfn: Any) -> None:
    waiting = sfn.create_state_machine(name="w", definition=json.dumps(WAIT_MACHINE), roleArn=ROLE)["stateMachineArn"]
    running_arn = sfn.start_execution(stateMachineArn=waiting, name="stop-me")["executionArn"]
    sfn.stop_execution(executionArn=running_arn, error="OperatorStopped", cause="stopped by ops")
    stopped = sfn.describe_execution(executionArn=running_arn)  # as on AWS, ABORTED as soon as the stop answered
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


class FakeJournal:
    """Where the journal's recording writes, in memory: the statements and syncs in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def write(self, statements: Any) -> None:
        self.calls += [("write", (sql, list(rows))) for sql, rows in statements]

    def sync(self) -> None:
        self.calls.append(("sync", None))

    def syncs(self) -> int:
        return sum(1 for kind, _ in self.calls if kind == "sync")


@pytest.fixture
def fake_journal() -> Iterator[FakeJournal]:
    recorded = FakeJournal()
    journal.recording.to(recorded)  # type: ignore[arg-type]
    yield recorded
    journal.recording.to(None)


def test_the_journal_hears_a_stop_through_the_stopped_event(fake_journal: FakeJournal) -> None:
    from moto.stepfunctions.parser.api import ExecutionStatus

    stopped_at = datetime.now(UTC)
    execution = SimpleNamespace(
        exec_arn="arn:x:stopped", status="ABORTED", exec_status=ExecutionStatus.ABORTED, stop_date=stopped_at,
        error="Ops", cause="by hand", output=None, exec_worker=None, to_history_output=lambda: {"events": []},
    )  # fmt: skip
    events.stopped.publish(execution)
    (write, sync) = fake_journal.calls
    sql, [row] = write[1]
    assert sql.startswith("UPDATE executions SET status = ?")
    assert row[:4] == ("ABORTED", stopped_at.timestamp(), "Ops", "by hand")
    assert row[-1] == "arn:x:stopped"
    assert sync == ("sync", None)  # on disk before StopExecution answers


def test_stop_publishes_the_stop_and_never_calls_the_journal(
    sfn: Any, fake_journal: FakeJournal, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert journal not in vars(stop).values()
    recorder = Recorder()
    silent: events.Event[Any] = events.Event("stopped", contained=False)
    silent.subscribe(recorder.stopped)
    monkeypatch.setattr(events, "stopped", silent)  # the journal is not among its subscribers
    arn = start(sfn, make_machine(sfn, "silent", WAIT_MACHINE), "s1")
    synced = fake_journal.syncs()  # the start's
    sfn.stop_execution(executionArn=arn, error="Ops", cause="by hand")
    ((kind, _, status, _, error, cause),) = recorder.of(arn)
    assert (kind, status, error, cause) == ("stopped", "ABORTED", "Ops", "by hand")
    assert fake_journal.syncs() == synced  # nothing made the stop wait for the journal


# --- compaction -----------------------------------------------------------------------------------------------------


def test_compaction_keeps_detail_for_the_newest_an_outcome_for_the_rest_and_drops_the_old(sfn: Any) -> None:
    waiter = make_machine(sfn, "waiter", WAIT_MACHINE)
    still_running = start(sfn, waiter, "still-running")
    machine = make_machine(sfn, "pass", PASS_MACHINE)
    arns = [start(sfn, machine, f"run-{i:02d}", {"n": i}) for i in range(30)]
    wait_until(lambda: statuses(sfn, machine) == ["SUCCEEDED"] * 30)

    assert compaction.compact_finished_executions(keep_detail=10, keep_records=1000, keep_seconds=3600) == (20, 0)
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
    assert compaction.compact_finished_executions(keep_detail=10, keep_records=1000, keep_seconds=3600) == (0, 0)
    # A RUNNING listing reads no compact record; a listing of another status reads them all.
    assert sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")["executions"] == []
    succeeded = sfn.list_executions(stateMachineArn=machine, statusFilter="SUCCEEDED", maxResults=7)
    assert [e["executionArn"] for e in succeeded["executions"]] == arns[:-8:-1]
    assert succeeded["nextToken"]

    # Beyond the record limit the oldest go; beyond the retention nothing is kept; a running one is never touched.
    # What went is known by the start time of the newest one dropped (a lookup tells "expired" from "unknown").
    started = {e["executionArn"]: e["startDate"].timestamp() for e in listed}
    assert compaction.compact_finished_executions(keep_detail=10, keep_records=25, keep_seconds=3600) == (0, 5)
    assert compaction.forgotten_through() == pytest.approx(started[arns[4]], abs=0.001)
    listed = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert [e["executionArn"] for e in listed] == arns[:4:-1]
    assert compaction.compact_finished_executions(keep_detail=0, keep_records=1000, keep_seconds=0) == (0, 25)
    assert compaction.forgotten_through() == pytest.approx(started[arns[-1]], abs=0.001)
    assert sfn.list_executions(stateMachineArn=machine)["executions"] == []
    with pytest.raises(sfn.exceptions.ExecutionDoesNotExist):
        sfn.describe_execution(executionArn=arns[0])
    assert sfn.describe_execution(executionArn=still_running)["status"] == "RUNNING"


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
        compaction.compact_finished_executions(keep_detail=5, keep_records=1000, keep_seconds=3600)
    thread.join()

    def remaining() -> list[dict[str, Any]]:
        return [e for m in machines for e in sfn.list_executions(stateMachineArn=m)["executions"]]

    wait_until(lambda: len(remaining()) == 40 and all(e["status"] == "SUCCEEDED" for e in remaining()))
    compaction.compact_finished_executions(keep_detail=5, keep_records=1000, keep_seconds=3600)
    assert sorted(e["executionArn"] for e in remaining()) == sorted(started)
    detailed = [arn for arn in started if "input" in sfn.describe_execution(executionArn=arn)]
    assert detailed == started[-5:]


def test_compaction_publishes_the_executions_it_compacted(sfn: Any, subscribe: Any) -> None:
    heard: list[list[str]] = []
    subscribe(events.compacted, heard.append)
    machine = make_machine(sfn, "compacted", PASS_MACHINE)
    arns = [start(sfn, machine, f"k{i}") for i in range(3)]
    wait_until(lambda: statuses(sfn, machine) == ["SUCCEEDED"] * 3)
    compaction.compact_finished_executions(keep_detail=1, keep_records=1000, keep_seconds=3600)
    assert [sorted(arns_heard) for arns_heard in heard] == [sorted(arns[:2])]
    compaction.compact_finished_executions(keep_detail=1, keep_records=1000, keep_seconds=3600)
    assert len(heard) == 1  # nothing more compacted: nothing published


# --- lookups and ListExecutions -------------------------------------------------------------------------------------


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
    waiting = make_machine(sfn, "running", WAIT_MACHINE)
    start(sfn, waiting, "r")
    queries = [
        {"stateMachineArn": machine, "maxResults": 2},
        {"stateMachineArn": machine, "statusFilter": "SUCCEEDED"},
        {"stateMachineArn": failing},
        {"stateMachineArn": waiting},
    ]
    ours = [sfn.list_executions(**query) for query in queries]
    assert "nextToken" in ours[0]
    assert all("nextToken" not in page for page in ours[1:])
    assert {item["status"] for page in ours for item in page["executions"]} == {"SUCCEEDED", "FAILED", "RUNNING"}
    monkeypatch.setattr(StepFunctionResponse, "list_executions", StepFunctionResponse.list_executions.__wrapped__)
    for query, page in zip(queries, ours, strict=True):
        assert sfn.list_executions(**query)["executions"] == page["executions"]


# --- parses ---------------------------------------------------------------------------------------------------------


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
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    assert json_path.parse("$.order.lines[0]") is json_path.parse("$.order.lines[0]")
    assert json_path.extract_json("$.order.customer", {"order": {"customer": "A"}}) == "A"
    assert result_path.parse("$.result") is result_path.parse("$.result")


# --- names ----------------------------------------------------------------------------------------------------------


def test_execution_names_are_checked_and_an_unnamed_execution_gets_a_uuid(sfn: Any) -> None:
    machine = make_machine(sfn, "named", PASS_MACHINE)
    unnamed = [sfn.start_execution(stateMachineArn=machine)["executionArn"] for _ in range(2)]
    assert len(set(unnamed)) == 2
    assert all(len(arn.rsplit(":", 1)[-1]) == 36 for arn in unnamed)
    with pytest.raises(sfn.exceptions.InvalidName):
        sfn.start_execution(stateMachineArn=machine, name="a/b")
    with pytest.raises(sfn.exceptions.ClientError, match="less than or equal to 80"):
        sfn.start_execution(stateMachineArn=machine, name="x" * 81)


# --- the journal and the provider -----------------------------------------------------------------------------------
# W waits until the input's time, not for a number of seconds: a loaded machine must not let it end before the restart
# it is there to span, and after the restart it waits only for what is left.
UNTIL_MACHINE = {
    "StartAt": "Start",
    "States": {
        "Start": {"Type": "Pass", "Parameters": {"step": 1, "until.$": "$.until"}, "Next": "W"},
        "W": {"Type": "Wait", "TimestampPath": "$.until", "Next": "Done"},
        "Done": {"Type": "Pass", "End": True},
    },
}
DAY = 24 * 3600


def _the_stacks_workflow() -> None:
    boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name="workflow", definition=json.dumps(UNTIL_MACHINE), roleArn=ROLE
    )


@pytest.fixture
def instance(started: Callable[..., Instance]) -> Instance:
    """The Step Functions service started on a journal, with the stack's workflow."""
    return started([StepFunctions()], deploy=_the_stacks_workflow)


def finished_on_disk(instance: Instance) -> int:
    """How many finished executions are on disk once what was written so far is committed."""
    instance.journal.flush()
    return len(instance.on_disk("SELECT arn FROM executions WHERE status != 'RUNNING'"))


def machine_arn() -> str:
    return f"arn:aws:states:{REGION}:{DEFAULT_ACCOUNT_ID}:stateMachine:workflow"


def waiting(seconds: float, **fields: Any) -> str:
    """An execution input that makes W wait that long from now."""
    until = datetime.now(UTC) + timedelta(seconds=seconds)
    return json.dumps({**fields, "until": until.strftime("%Y-%m-%dT%H:%M:%SZ")})


def test_a_running_execution_continues_from_its_last_state_and_finished_ones_are_still_described(
    instance: Instance,
) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    done = sfn.start_execution(stateMachineArn=machine_arn(), name="done", input=waiting(0, n=1))["executionArn"]
    poll(lambda: sfn.describe_execution(executionArn=done)["status"] == "SUCCEEDED", timeout=10, what="done")
    running_input = waiting(10, n=2)
    ongoing = sfn.start_execution(stateMachineArn=machine_arn(), name="running", input=running_input)["executionArn"]
    assert instance.on_disk("SELECT status FROM executions WHERE arn = ?", ongoing) == [("RUNNING",)]
    poll(lambda: instance.on_disk("SELECT state FROM executions WHERE arn = ?", ongoing) == [("W",)], what="W")

    restored = instance.restart()
    assert {key: restored[f"executions_{key}"] for key in ("finished", "continued", "failed")} == {
        "finished": 1,
        "continued": 1,
        "failed": 0,
    }
    sfn = boto3.client("stepfunctions", region_name=REGION)
    finished = sfn.describe_execution(executionArn=done)
    assert (finished["status"], finished["name"]) == ("SUCCEEDED", "done")
    ended = poll(lambda: (d := sfn.describe_execution(executionArn=ongoing))["status"] != "RUNNING" and d,
                 timeout=30, what="the continued execution to end")  # fmt: skip
    assert ended["status"] == "SUCCEEDED"
    assert json.loads(ended["output"]) == {"step": 1, "until": json.loads(running_input)["until"]}  # W's saved input
    history = sfn.get_execution_history(executionArn=ongoing)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")]
    assert entered == ["W", "Done"]
    # Its events before the restart are not journaled: its start, then the continuation, as after a redrive.
    assert [e["type"] for e in history[:2]] == ["ExecutionStarted", "ExecutionRedriven"]
    assert history[0]["executionStartedEventDetails"]["input"] == running_input
    names = [e["name"] for e in sfn.list_executions(stateMachineArn=machine_arn())["executions"]]
    assert names == ["running", "done"]
    # The continued one did not start again: the telemetry heard two starts, both before the restart.
    assert [call[0] for call in instance.telemetry.calls].count("started") == 2


def test_an_execution_that_cannot_continue_ends_failed_saying_the_local_aws_restarted(instance: Instance) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.start_execution(stateMachineArn=machine_arn(), name="orphan", input=waiting(10))["executionArn"]
    poll(lambda: instance.on_disk("SELECT state FROM executions WHERE arn = ?", arn) == [("W",)], what="W")
    instance.journal.write([("UPDATE executions SET state = 'Gone' WHERE arn = ?", [(arn,)])])  # a changed workflow

    assert instance.restart()["executions_failed"] == 1
    described = boto3.client("stepfunctions", region_name=REGION).describe_execution(executionArn=arn)
    assert (described["status"], described["error"]) == ("FAILED", journal.RESTARTED_ERROR)
    assert "restarted" in described["cause"]


def test_a_finished_execution_keeps_its_output_and_history_until_it_is_compacted(instance: Instance) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.start_execution(stateMachineArn=machine_arn(), name="kept", input=waiting(0, n=1))["executionArn"]
    before = poll(lambda: (d := sfn.describe_execution(executionArn=arn))["status"] == "SUCCEEDED" and d,
                  timeout=10, what="the execution to end")  # fmt: skip
    history = sfn.get_execution_history(executionArn=arn)["events"]
    poll(lambda: finished_on_disk(instance) == 1, timeout=10, what="its end on disk")  # just after its status

    assert instance.restart()["executions_finished"] == 1
    sfn = boto3.client("stepfunctions", region_name=REGION)
    assert sfn.describe_execution(executionArn=arn) | {"ResponseMetadata": None} == before | {"ResponseMetadata": None}
    assert sfn.get_execution_history(executionArn=arn)["events"] == history
    with pytest.raises(sfn.exceptions.ClientError, match="finished before the local AWS restarted"):
        sfn.redrive_execution(executionArn=arn)

    compaction.compact_finished_executions(keep_detail=0, keep_records=10, keep_seconds=DAY)
    instance.journal.flush()
    assert instance.on_disk("SELECT output, history FROM executions") == [(None, None)]
    instance.restart()
    described = boto3.client("stepfunctions", region_name=REGION).describe_execution(executionArn=arn)
    assert (described["status"], "output" in described) == ("SUCCEEDED", False)


def test_a_stopped_execution_is_aborted_on_disk_when_stop_answers_and_stays_so(instance: Instance) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.start_execution(stateMachineArn=machine_arn(), name="stopped", input=waiting(10))["executionArn"]
    poll(lambda: instance.on_disk("SELECT state FROM executions WHERE arn = ?", arn) == [("W",)], what="W")
    sfn.stop_execution(executionArn=arn, error="Ops", cause="by hand")
    assert instance.on_disk("SELECT status, error FROM executions WHERE arn = ?", arn) == [("ABORTED", "Ops")]

    assert instance.restart()["executions_continued"] == 0
    described = boto3.client("stepfunctions", region_name=REGION).describe_execution(executionArn=arn)
    assert (described["status"], described["error"], described["cause"]) == ("ABORTED", "Ops", "by hand")


def test_prune_keeps_running_executions_and_the_newest_finished_ones_within_the_retention(tmp_path: Path) -> None:
    store = Journal(tmp_path / FILE_NAME, [journal.TABLES])
    now = 1_000_000.0
    rows = [(f"arn:{n}", "machine", str(n), "{}", now - n, "SUCCEEDED") for n in range(5)]
    rows += [
        ("arn:old", "machine", "old", "{}", now - 7200, "FAILED"),
        ("arn:run", "machine", "run", "{}", 0, "RUNNING"),
    ]
    sql = "INSERT INTO executions (arn, state_machine_arn, name, input, start, status) VALUES (?, ?, ?, ?, ?, ?)"
    store.write([(sql, rows)])
    journal.prune(store, keep_records=3, keep_seconds=3600, now=now)
    assert sorted(row["name"] for row in store.rows("SELECT name FROM executions")) == ["0", "1", "2", "run"]
    store.close()


def test_an_older_journal_gains_the_added_columns(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / FILE_NAME) as older:
        older.execute(
            "CREATE TABLE executions (arn TEXT PRIMARY KEY, state_machine_arn TEXT NOT NULL, name TEXT NOT NULL, "
            "input TEXT NOT NULL, start REAL NOT NULL, state TEXT, state_input TEXT, status TEXT NOT NULL, stop REAL, "
            "error TEXT, cause TEXT)"
        )
    Journal(tmp_path / FILE_NAME, [journal.TABLES]).close()
    with sqlite3.connect(tmp_path / FILE_NAME) as reader:
        columns = [row[1] for row in reader.execute("PRAGMA table_info(executions)")]
        indexes = [row[1] for row in reader.execute("PRAGMA index_list(executions)")]
    assert columns[-2:] == ["output", "history"]
    assert "executions_by_start" in indexes


def test_the_provider_reports_to_the_telemetry_routes_invokes_and_lets_go_when_stopped(instance: Instance) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.start_execution(stateMachineArn=machine_arn(), name="told", input=waiting(0))["executionArn"]
    poll(lambda: [c[0] for c in instance.telemetry.calls] == ["started", "finished"], timeout=30, what="the end")
    described = sfn.describe_execution(executionArn=arn)
    started_at, stopped_at = described["startDate"].timestamp(), described["stopDate"].timestamp()
    assert instance.telemetry.calls[0] == pytest.approx(("started", machine_arn(), started_at))
    assert instance.telemetry.calls[1][:3] == ("finished", machine_arn(), "SUCCEEDED")
    assert instance.telemetry.calls[1][3:] == pytest.approx((started_at, stopped_at), abs=0.001)
    assert running.running_executions.limit == instance.options.max_running_executions

    def invoke(region: str, parameters: dict[str, Any]) -> dict[str, Any]:
        return {}

    assert task_clients._lambda_invoke == []  # nothing offered: Invokes go through the client
    instance.offers["lambda:invoke"] = invoke
    instance.restart()
    assert task_clients._lambda_invoke == [invoke]
    subscribed = len(events.started._subscribers)
    instance.service.stop()
    assert task_clients._lambda_invoke == []
    assert not journal.recording.on
    assert len(events.started._subscribers) == subscribed - 1  # the telemetry's, not the journal's


def test_housekeeping_compacts_records_what_was_forgotten_and_prunes_the_journal(instance: Instance) -> None:
    from localaws import instance as local_instance

    sfn = boto3.client("stepfunctions", region_name=REGION)
    for n in range(3):
        sfn.start_execution(stateMachineArn=machine_arn(), name=f"h{n}", input=waiting(0))
    poll(lambda: finished_on_disk(instance) == 3, timeout=10, what="the executions to end")
    assert local_instance.forgotten_through() is None
    # Nothing is kept beyond the retention: every finished execution goes, in memory and on disk.
    options = SimpleNamespace(max_finished_executions=0, max_execution_records=1000, retention_hours=0)
    instance.service.housekeep(time.time(), options)
    assert sfn.list_executions(stateMachineArn=machine_arn())["executions"] == []
    instance.journal.flush()
    assert instance.on_disk("SELECT arn FROM executions") == []
    assert local_instance.forgotten_through() == compaction.forgotten_through() > 0


def test_history_and_execution_pages_are_paged_as_step_functions_pages_them(sfn: Any) -> None:
    machine = make_machine(sfn, "paged", PASS_MACHINE)
    arn = start(sfn, machine, "paged-1")
    wait_until(lambda: sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED")
    every = sfn.get_execution_history(executionArn=arn)["events"]
    first = sfn.get_execution_history(executionArn=arn, maxResults=2)
    rest = sfn.get_execution_history(executionArn=arn, maxResults=100, nextToken=first["nextToken"])
    assert [e["id"] for e in first["events"] + rest["events"]] == [e["id"] for e in every]
    assert "nextToken" not in rest
    newest = sfn.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=1)["events"]
    assert newest[0]["type"] == "ExecutionSucceeded"
    with pytest.raises(sfn.exceptions.ClientError, match="InvalidToken"):  # a forward token does not page backwards
        sfn.get_execution_history(executionArn=arn, reverseOrder=True, nextToken=first["nextToken"])
    bare = sfn.get_execution_history(executionArn=arn, includeExecutionData=False)["events"]
    assert "input" not in bare[0]["executionStartedEventDetails"]
    assert "input" in every[0]["executionStartedEventDetails"]
    start(sfn, machine, "paged-2")
    page = sfn.list_executions(stateMachineArn=machine, maxResults=1)
    with pytest.raises(sfn.exceptions.ClientError, match="InvalidToken"):  # a token is for the filter it was given with
        sfn.list_executions(stateMachineArn=machine, statusFilter="SUCCEEDED", nextToken=page["nextToken"])
