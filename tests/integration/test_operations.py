"""Operator backend on the local AWS: KPIs of a known mix, listing, DLQ, bounded redrive, stop, redrive, audit."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import backend
from backend import audit, aws, monitoring, operations, queues, redrive
from backend.executions import Outcome
from backend.identity import Caller, Forbidden, Role
from lambdas.domain.order import Order, PaymentMethod
from lambdas.domain.workflow import start_workflow
from tests.conftest import before_purge, operator_caller, poll, settled_kpis
from tests.conftest import order_request as request

ACTOR = operator_caller()
MIX = {Outcome.SUCCEEDED: 12, Outcome.REJECTED: 3, Outcome.DECLINED: 3}


REQUESTS = {
    Outcome.SUCCEEDED: request(),
    Outcome.REJECTED: request(lines=[{"sku": "LIMITED-PRINT", "quantity": 3}]),
    Outcome.DECLINED: request(PaymentMethod.DECLINED),
}


@pytest.fixture(scope="module")
def mix(local_aws: Any) -> tuple[datetime, dict[str, Outcome], monitoring.Kpis]:
    """The known mix, placed through the pipeline; returns the window start, each order's outcome, and the last
    hour's counts before it."""
    before = settled_kpis()
    since = datetime.now(UTC)
    placed = backend.submit_orders([REQUESTS[outcome] for outcome, n in MIX.items() for _ in range(n)], caller=ACTOR)
    results = backend.wait_for_orders([o.order_id for o in placed], timeout_seconds=90)
    outcomes = {oid: summary.outcome for oid, summary in results.items()}
    assert sorted(outcomes.values()) == sorted(o for o, n in MIX.items() for _ in range(n))
    return since, outcomes, before


def test_the_last_hours_counts_and_latency_grow_by_the_mix(mix: tuple) -> None:
    _, _, before = mix
    expected = (before.placed + 18, before.succeeded + 12, before.rejected + 3, before.declined + 3, before.errored)

    def counted() -> monitoring.WindowReport | None:
        # CloudWatch shows data after a delay; the local AWS flushes its telemetry every few seconds.
        report = monitoring.window_report(datetime.now(UTC) - timedelta(hours=1))
        kpis = report.kpis
        return report if (kpis.placed, kpis.succeeded, kpis.rejected, kpis.declined, kpis.errored) == expected else None

    report = poll(counted, timeout=30, what="the mix in the metrics")
    assert report.latency.samples >= 18
    assert 0 < report.latency.p50 <= report.latency.p90 <= report.latency.p99
    assert sum(p.per_minute for p in report.throughput) == report.kpis.finished


def test_listing_filters_by_status_window_and_order_id_and_pages(mix: tuple) -> None:
    since, outcomes, _ = mix
    failed = operations.list_executions(operations.ExecutionFilter(status="FAILED", since=since), 50)
    assert {row.order_id for row in failed.rows} == {oid for oid, o in outcomes.items() if o is not Outcome.SUCCEEDED}
    assert {row.error for row in failed.rows} == {"OrderRejected", "PaymentDeclined"}
    assert failed.next_token is None  # the window ends the listing

    seen: list[backend.OrderSummary] = []
    token = None
    for _ in range(10):
        page = operations.list_executions(operations.ExecutionFilter(since=since), page_size=5, next_token=token)
        assert len(page.rows) <= 5
        seen += page.rows
        token = page.next_token
        if not token:
            break
    assert [row.order_id for row in seen if row.order_id in outcomes] == [row.order_id for row in seen]
    assert {row.order_id for row in seen} == set(outcomes)
    assert [row.started_at for row in seen] == sorted((row.started_at for row in seen), reverse=True)

    one = next(iter(outcomes))
    [row] = operations.list_executions(operations.ExecutionFilter(order_id=one)).rows
    assert (row.order_id, row.outcome) == (one, outcomes[one])
    assert operations.list_executions(operations.ExecutionFilter(order_id="ord_nosuchorder")).rows == []
    later = operations.list_executions(operations.ExecutionFilter(since=datetime.now(UTC) + timedelta(minutes=1)))
    assert later.rows == []


def dlq_visible() -> int:
    return queues.queue_stats("dlq").visible


def drain_dlq() -> None:
    """Empty the DLQ with receive+delete (PurgeQueue is allowed once a minute per queue, on moto as on AWS)."""
    sqs, url = aws.client("sqs"), aws.resources().dead_letter_queue_url
    for _ in range(100):
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
        if not batch:
            return
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        )


def test_a_poison_message_shows_in_the_dlq_and_peeking_loses_nothing(local_aws: Any) -> None:
    drain_dlq()
    body = "poison: not an order"
    aws.client("sqs").send_message(QueueUrl=aws.resources().orders_queue_url, MessageBody=body)
    poll(lambda: dlq_visible() == 1, timeout=60, what="the poison message in the DLQ")
    peeked = queues.peek_dlq(ACTOR, 10)
    assert [m.body for m in peeked] == [body]
    assert peeked[0].receive_count >= 5
    assert dlq_visible() == 1  # still there, visible again
    dlq_name = queues.queue_name(aws.resources().dead_letter_queue_url or "")
    with pytest.raises(backend.BackendError, match="Type the queue name"):
        queues.purge("dlq", ACTOR, dlq_name.removesuffix("-dlq"))
    before_purge(aws.resources().dead_letter_queue_url or "")
    assert queues.purge("dlq", ACTOR, dlq_name) == 1
    assert queues.queue_stats("dlq").depth == 0


def test_a_redrive_moves_the_dlq_back_at_its_rate_and_a_cancel_stops_it(local_aws: Any) -> None:
    drain_dlq()
    sqs = aws.client("sqs")
    orders = [Order.place(request()) for _ in range(6)]
    for order in orders:  # as if their deliveries had all failed during an outage
        sqs.send_message(QueueUrl=aws.resources().dead_letter_queue_url, MessageBody=order.model_dump_json())
    ids = [order.order_id for order in orders]
    with pytest.raises(backend.BackendError, match="between 1 and 500"):
        redrive.start_redrive(ACTOR, 501)

    handle = redrive.start_redrive(ACTOR, 1)
    with pytest.raises(backend.BackendError):  # SQS runs one move task per source queue at a time
        redrive.start_redrive(ACTOR)
    poll(lambda: redrive.move_tasks()[0].moved >= 1, timeout=15, what="the task to move a message")
    moved = redrive.cancel_redrive(handle, ACTOR)

    (task, *_) = poll(lambda: [t for t in redrive.move_tasks() if not t.running] or None, timeout=10, what="cancel")
    assert (task.status, task.to_move, task.rate) == ("CANCELLED", 6, 1)
    assert 1 <= moved <= task.moved < 6
    assert dlq_visible() == 6 - task.moved
    handle = redrive.start_redrive(ACTOR)  # the rest, at SQS's pace
    poll(lambda: redrive.move_tasks()[0].status == "COMPLETED", timeout=30, what="the second task to complete")
    assert dlq_visible() == 0

    def all_done() -> bool:
        known = backend.wait_for_orders(ids, timeout_seconds=0)
        return sum(summary.outcome is Outcome.SUCCEEDED for summary in known.values()) == 6

    poll(all_done, timeout=60, what="the 6 redriven orders to succeed, each once")


def test_stop_a_running_execution(local_aws: Any) -> None:
    order = backend.submit_orders([request(PaymentMethod.TIMEOUT_ALWAYS)], caller=ACTOR)[0]

    def running() -> bool:
        try:
            return backend.get_order(order.order_id).outcome is Outcome.RUNNING
        except backend.NotFound:
            return False

    poll(running, timeout=30, what="the execution to run")
    operations.stop_execution(order.order_id, ACTOR, "test")
    poll(lambda: backend.get_order(order.order_id).outcome is Outcome.ABORTED, timeout=10, what="ABORTED")
    with pytest.raises(backend.BackendError, match="only a running execution"):
        operations.stop_execution(order.order_id, ACTOR)


def payment_records(order: Order) -> int:
    """Idempotency records of this order's payment in the payments table (one per charge)."""
    payment_id = "pay_" + hashlib.sha256(order.order_id.encode()).hexdigest()[:20]  # as the gateway derives it
    items = aws.client("dynamodb").scan(TableName=aws.resources().payments_table_name)["Items"]
    return sum(payment_id in json.dumps(item) for item in items)


def test_redrive_finishes_an_aborted_order_without_a_second_charge(local_aws: Any) -> None:
    # Stopped while it ran: redrive continues from the step that had not finished, with the same ARN.
    order = Order.place(request(PaymentMethod.TIMEOUT_ONCE))
    sfn = aws.client("stepfunctions")
    start_workflow(sfn, aws.resources().state_machine_arn, order)
    sfn.stop_execution(executionArn=operations.execution_arn(order.order_id))
    stopped = poll(lambda: (d := backend.get_order(order.order_id)).outcome.terminal and d, timeout=10, what="stop")
    # moto may surface a stop that lands inside a Lambda call as a failed task: either way it is redrivable.
    assert stopped.outcome in {Outcome.ABORTED, Outcome.FAILED}

    operations.redrive_execution(order.order_id, ACTOR)

    detail = poll(
        lambda: (d := backend.get_order(order.order_id)).outcome.terminal and d, timeout=30, what="the redrive to end"
    )
    assert detail.outcome is Outcome.SUCCEEDED
    assert detail.execution_arn == operations.execution_arn(order.order_id)
    types = [row.type for row in backend.get_order(order.order_id).history]
    assert types.count("ExecutionRedriven") == 1
    assert types[-1] == "ExecutionSucceeded"
    assert payment_records(order) == 1
    with pytest.raises(backend.BackendError, match="only failed, timed-out or aborted"):
        operations.redrive_execution(order.order_id, ACTOR)


def test_redrive_of_a_declined_order_reruns_only_the_failed_step(mix: tuple) -> None:
    _, outcomes, _ = mix
    declined = next(oid for oid, outcome in outcomes.items() if outcome is Outcome.DECLINED)
    operations.redrive_execution(declined, ACTOR)
    detail = poll(lambda: (d := backend.get_order(declined)).outcome.terminal and d, timeout=30, what="redrive end")
    assert detail.outcome is Outcome.DECLINED  # the Fail state fails again, as on AWS
    types = [row.type for row in backend.get_order(declined).history]
    after = types[types.index("ExecutionRedriven") :]
    assert "TaskStateEntered" not in after  # no task (no payment) ran again


def test_operator_actions_are_in_the_audit_log(local_aws: Any) -> None:
    entries = [entry for entry in audit.recent(200) if entry.subject == ACTOR.subject]
    assert {(entry.actor, entry.email) for entry in entries} == {(ACTOR.name, ACTOR.email)}
    actions = {entry.action for entry in entries}
    assert {"purge", "redrive-dlq", "stop-execution", "redrive-execution"} <= actions
    started = next(entry for entry in entries if entry.action == "redrive-dlq" and entry.phase == "outcome")
    newest = redrive.move_tasks()[0]  # the redrive test started it last: what it was to move is counted
    dlq = queues.queue_name(aws.resources().dead_letter_queue_url or "")
    assert (started.target, started.count) == (dlq, newest.to_move)
    assert entries == sorted(entries, key=lambda entry: entry.at, reverse=True)


VIEWER = Caller(subject="viewer-sub", email="viewer@example.com", role=Role.VIEWER)


def test_a_viewer_is_refused_every_guarded_operation_and_nothing_happens(local_aws: Any) -> None:
    drain_dlq()
    aws.client("sqs").send_message(QueueUrl=aws.resources().dead_letter_queue_url, MessageBody="kept")
    assert dlq_visible() == 1
    dlq_name = queues.queue_name(aws.resources().dead_letter_queue_url or "")
    refusals = {
        "Purging a queue needs the operator role": lambda: queues.purge("dlq", VIEWER, dlq_name),
        "Redriving the dead-letter queue needs the operator role": lambda: redrive.start_redrive(VIEWER),
        "Looking at dead-letter messages needs the operator role": lambda: queues.peek_dlq(VIEWER, 1),
        "Stopping an execution needs the operator role": lambda: operations.stop_execution("ord_x", VIEWER),
        "Redriving an execution needs the operator role": lambda: operations.redrive_execution("ord_x", VIEWER),
        "Placing orders needs the staff role": lambda: backend.submit_orders([request()], caller=VIEWER),
    }
    for message, call in refusals.items():
        with pytest.raises(Forbidden) as refused:
            call()
        assert str(refused.value).startswith(f"{message}; viewer@example.com is signed in as viewer")
    assert dlq_visible() == 1  # not purged, not redriven, not even received
    refused = [entry for entry in audit.recent(100_000) if entry.subject == VIEWER.subject]
    assert sorted(entry.phase for entry in refused) == ["refused"] * len(refusals)  # recorded, and nothing more
    drain_dlq()


def test_staff_may_place_orders_but_not_purge(local_aws: Any) -> None:
    staff = Caller(subject="staff-sub", email="staff@example.com", role=Role.STAFF)
    (order,) = backend.submit_orders([request()], caller=staff)
    assert order.order_id.startswith("ord_")
    with pytest.raises(Forbidden, match="needs the operator role"):
        queues.purge("orders", staff, queues.queue_name(aws.resources().orders_queue_url))
