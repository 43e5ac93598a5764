"""The audit log on the local AWS: each guarded action's intent before it and outcome after it (same id), refused
attempts, placed orders (the CLI's too), failures, a log that cannot be written, and a sandbox reset."""

from __future__ import annotations

import getpass
import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ulid import ULID

import backend
from backend import audit, aws, lookup, operations, queues, redrive, sandbox
from backend.audit import AuditEntry
from backend.executions import Outcome
from backend.identity import Caller, Forbidden, Role
from lambdas.domain.order import Order, PaymentMethod
from lambdas.domain.workflow import start_workflow
from tests.conftest import PROJECT_ROOT, operator_caller, order_request, poll
from tests.integration.conftest import ChaosRules

ISSUER = "https://issuer.example.com"
LOG_UNAVAILABLE = [
    {"service": "logs", "operation": "PutLogEvents", "error": {"code": "ServiceUnavailable", "statusCode": 503}}
]


def person(name: str, role: Role | None) -> Caller:
    """A signed-in caller of this test only (its own subject), as an identity provider names them."""
    return Caller(
        subject=f"{name}-{uuid.uuid4().hex[:12]}", issuer=ISSUER, email=f"{name}@example.com", name=name, role=role
    )


def entries_of(who: Caller) -> list[AuditEntry]:
    """The caller's audit entries, oldest first."""
    return sorted((entry for entry in audit.recent(100_000) if entry.subject == who.subject), key=lambda e: e.at)


def assert_names(entry: AuditEntry, who: Caller) -> None:
    assert (entry.issuer, entry.subject, entry.email, entry.actor) == (who.issuer, who.subject, who.email, who.name)
    assert entry.role == who.role_name


def intent_and_outcome(who: Caller) -> tuple[AuditEntry, AuditEntry]:
    intent, outcome = entries_of(who)
    assert (intent.phase, outcome.phase) == ("intent", "outcome")
    assert intent.id == outcome.id
    assert str(ULID.from_str(intent.id)) == intent.id
    assert intent.at <= outcome.at
    assert outcome.requested_at == intent.at
    assert (intent.outcome, intent.action, intent.target) == (None, outcome.action, outcome.target)
    for entry in (intent, outcome):
        assert_names(entry, who)
    return intent, outcome


def dlq_url() -> str:
    return aws.resources().dead_letter_queue_url or ""


def drain_dlq() -> None:
    """Empty the DLQ with receive+delete (PurgeQueue is allowed once a minute per queue, on moto as on AWS)."""
    sqs = aws.client("sqs")
    for _ in range(100):
        batch = sqs.receive_message(QueueUrl=dlq_url(), MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages")
        if not batch:
            return
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        sqs.delete_message_batch(QueueUrl=dlq_url(), Entries=entries)


def poison_the_dlq(count: int) -> None:
    for index in range(count):
        aws.client("sqs").send_message(QueueUrl=dlq_url(), MessageBody=f"poison {index}")
    assert queues.queue_stats("dlq").visible == count


def test_a_purge_records_its_intent_then_its_outcome_with_the_same_id(own_local_aws: Path) -> None:
    # A local AWS of its own: PurgeQueue is allowed once a minute per queue, and other tests purge the session's.
    poison_the_dlq(3)
    olga = person("olga", Role.OPERATOR)
    name = queues.queue_name(dlq_url())

    assert queues.purge("dlq", olga, name) == 3

    intent, outcome = intent_and_outcome(olga)
    assert (intent.action, intent.target, intent.count) == ("purge", name, 3)
    assert (outcome.outcome, outcome.count) == ("succeeded", 3)
    assert queues.queue_stats("dlq").depth == 0
    (row,) = [row for row in audit.recent_actions(50) if row.subject == olga.subject]
    assert (row.id, row.action, row.outcome, row.count, row.email, row.issuer) == (
        intent.id,
        "purge",
        "succeeded",
        3,
        olga.email,
        ISSUER,
    )
    assert (row.requested_at, row.finished_at) == (intent.at, outcome.at)


def test_when_the_audit_log_cannot_be_written_the_purge_does_not_happen(
    local_aws: Any, chaos_rules: ChaosRules
) -> None:
    drain_dlq()
    poison_the_dlq(2)
    olga = person("olga", Role.OPERATOR)
    chaos_rules(LOG_UNAVAILABLE)

    with pytest.raises(backend.BackendError) as refused:
        queues.purge("dlq", olga, queues.queue_name(dlq_url()))

    assert str(refused.value).startswith("Purging a queue: not done: the audit log could not be written: ")
    assert "PutLogEvents failed: ServiceUnavailable" in str(refused.value)
    assert queues.queue_stats("dlq").visible == 2  # the queue still holds its messages
    chaos_rules([])
    assert entries_of(olga) == []
    drain_dlq()


def test_when_the_outcome_cannot_be_written_the_action_stands_and_the_error_says_so(
    local_aws: Any, chaos_rules: ChaosRules
) -> None:
    sam = person("sam", Role.STAFF)
    # The log fails once the orders are in the queue, before the outcome is written.
    with pytest.raises(audit.OutcomeNotRecorded) as raised:
        backend.submit_orders([order_request()], lambda done, total: chaos_rules(LOG_UNAVAILABLE), caller=sam)
    chaos_rules([])
    (order,) = raised.value.result
    message = str(raised.value)
    assert message.startswith(f"Placing orders: done (1 order: {order.order_id}), but the audit log could not record")
    (intent,) = entries_of(sam)
    assert (intent.phase, intent.action, intent.count) == ("intent", "place-orders", 1)
    (row,) = [row for row in audit.recent_actions(50, placed_orders=True) if row.subject == sam.subject]
    assert row.outcome == "no outcome recorded"
    assert not isinstance(lookup.locate(order.order_id), lookup.Unknown)  # it is in the queue, or started


def refusals() -> dict[str, tuple[Role | None, Role, str, str, Callable[[Caller], Any]]]:
    """Refused calls: the caller's role, the role needed, the action and its target, and the call."""
    return {
        "viewer purges": (Role.VIEWER, Role.OPERATOR, "purge", "dlq", lambda c: queues.purge("dlq", c, "x")),
        "staff redrives the DLQ": (Role.STAFF, Role.OPERATOR, "redrive-dlq", "dlq", lambda c: redrive.start_redrive(c)),
        "viewer peeks": (Role.VIEWER, Role.OPERATOR, "peek-dlq", "dlq", lambda c: queues.peek_dlq(c, 1)),
        "staff stops": (
            Role.STAFF,
            Role.OPERATOR,
            "stop-execution",
            "ord_x",
            lambda c: operations.stop_execution("ord_x", c),
        ),
        "viewer redrives": (
            Role.VIEWER,
            Role.OPERATOR,
            "redrive-execution",
            "ord_x",
            lambda c: operations.redrive_execution("ord_x", c),
        ),
        "viewer places": (
            Role.VIEWER,
            Role.STAFF,
            "place-orders",
            "orders queue",
            lambda c: backend.submit_orders([order_request()], caller=c),
        ),
        "no role places": (
            None,
            Role.STAFF,
            "place-orders",
            "orders queue",
            lambda c: backend.submit_orders([order_request()], caller=c),
        ),
    }


@pytest.mark.parametrize("case", list(refusals()))
def test_a_refused_attempt_is_recorded(local_aws: Any, case: str) -> None:
    role, needed, action, target, call = refusals()[case]
    vera = person("vera", role)
    with pytest.raises(Forbidden) as refused:
        call(vera)
    (entry,) = entries_of(vera)
    assert_names(entry, vera)
    assert (entry.phase, entry.action, entry.target, entry.needed) == ("refused", action, target, needed.value)
    assert entry.detail == str(refused.value)
    (row,) = [row for row in audit.recent_actions(50, placed_orders=True) if row.subject == vera.subject]
    assert (row.outcome, row.needed) == ("refused", needed.value)


def test_a_refusal_still_refuses_when_the_audit_log_cannot_be_written(local_aws: Any, chaos_rules: ChaosRules) -> None:
    vera = person("vera", Role.VIEWER)
    chaos_rules(LOG_UNAVAILABLE)
    with pytest.raises(Forbidden, match="needs the operator role"):
        queues.purge("dlq", vera, queues.queue_name(dlq_url()))
    chaos_rules([])
    assert entries_of(vera) == []


def test_placed_orders_are_recorded_with_the_count_and_the_first_and_last_ids(local_aws: Any) -> None:
    sam = person("sam", Role.STAFF)
    placed = backend.submit_orders([order_request()] * 12, caller=sam)
    intent, outcome = intent_and_outcome(sam)
    span = f"12 orders: {placed[0].order_id} … {placed[-1].order_id}"
    assert (intent.action, intent.count, intent.detail) == ("place-orders", 12, span)
    assert (outcome.outcome, outcome.count, outcome.detail) == ("succeeded", 12, span)
    assert intent.target == queues.queue_name(aws.resources().orders_queue_url)
    assert not [row for row in audit.recent_actions(500) if row.subject == sam.subject]  # shown when asked for
    assert [row.outcome for row in audit.recent_actions(500, placed_orders=True) if row.subject == sam.subject] == [
        "succeeded"
    ]


def test_the_command_lines_submissions_are_recorded_as_its_user(local_aws: Any) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "backend", "submit", "--count", "3", "--seed", "4", "--json"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    first, *_, last = json.loads(run.stdout)["order_ids"]
    span = f"3 orders: {first} … {last}"
    mine = [entry for entry in audit.recent(100_000) if entry.detail == span]
    assert sorted(entry.phase for entry in mine) == ["intent", "outcome"]
    cli_user = f"cli:{getpass.getuser()}"
    assert {(entry.subject, entry.issuer, entry.role) for entry in mine} == {(cli_user, None, "operator")}


def running_execution() -> Order:
    order = Order.place(order_request(PaymentMethod.TIMEOUT_ALWAYS))
    start_workflow(aws.client("stepfunctions"), aws.resources().state_machine_arn, order)
    poll(lambda: backend.get_order(order.order_id).outcome is Outcome.RUNNING, what="the execution to run")
    return order


def aborted_execution() -> Order:
    order = Order.place(order_request(PaymentMethod.TIMEOUT_ONCE))
    sfn = aws.client("stepfunctions")
    start_workflow(sfn, aws.resources().state_machine_arn, order)
    sfn.stop_execution(executionArn=operations.execution_arn(order.order_id))
    poll(lambda: backend.get_order(order.order_id).outcome.terminal, what="the execution to stop")
    return order


@pytest.mark.parametrize(
    ("prepare", "operation", "act", "action"),
    [
        (running_execution, "StopExecution", operations.stop_execution, "stop-execution"),
        (aborted_execution, "RedriveExecution", operations.redrive_execution, "redrive-execution"),
    ],
)
def test_a_stop_or_redrive_whose_aws_call_fails_records_the_outcome_failed(
    local_aws: Any,
    chaos_rules: ChaosRules,
    prepare: Callable[[], Order],
    operation: str,
    act: Callable[[str, Caller], Any],
    action: str,
) -> None:
    order = prepare()
    olga = person("olga", Role.OPERATOR)
    chaos_rules([{"service": "states", "operation": operation, "error": {"code": "ServiceUnavailable"}}])

    with pytest.raises(backend.BackendError, match=f"{operation} failed: ServiceUnavailable"):
        act(order.order_id, olga)

    chaos_rules([])
    intent, outcome = intent_and_outcome(olga)
    assert (intent.action, intent.target) == (action, order.order_id)
    assert outcome.outcome == "failed"
    assert f"{operation} failed: ServiceUnavailable" in outcome.detail
    (row,) = [row for row in audit.recent_actions(50) if row.subject == olga.subject]
    assert row.outcome == "failed"
    with_status = backend.get_order(order.order_id)
    if with_status.outcome is Outcome.RUNNING:  # leave nothing running behind
        operations.stop_execution(order.order_id, operator_caller())


def test_a_sandbox_reset_is_recorded_in_the_fresh_sandboxs_audit_log(own_local_aws: Path) -> None:
    before = sandbox.status()
    assert before is not None
    olga = person("olga", Role.OPERATOR)
    backend.submit_orders([order_request()], caller=olga)
    assert [entry.phase for entry in entries_of(olga)] == ["intent", "outcome"]

    after = sandbox.reset(olga)

    assert after.boot_id != before.boot_id
    # The reset deleted the log with everything else, this reset's intent included; its outcome is the fresh one's.
    (outcome,) = entries_of(olga)
    assert_names(outcome, olga)
    assert (outcome.phase, outcome.action, outcome.outcome) == ("outcome", "reset-sandbox", "succeeded")
    assert outcome.requested_at is not None
    assert before.started_at < outcome.requested_at < outcome.at
    assert f"reset requested at {outcome.requested_at.isoformat(timespec='seconds')} by {olga.email}" in outcome.detail
    (row,) = [row for row in audit.recent_actions(50) if row.subject == olga.subject]
    assert (row.action, row.outcome, row.requested_at, row.finished_at) == (
        "reset-sandbox",
        "succeeded",
        outcome.requested_at,
        outcome.at,
    )
