"""An order's trace against the local AWS: message, batch, execution, invocations, payment record, notification; a
retry; a dead-lettered order's lookup; the Order page drawing it from one read of the history."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import backend
from backend import aws, ledger, lookup, order_logs, trace
from backend.orders import execution_detail
from backend.pricing import SERVICES, US_EAST_1
from lambdas.domain.order import PaymentMethod, new_order_id
from tests.conftest import PROJECT_ROOT, operator_caller, order_request, poll
from tests.integration.test_cli import cli

TASKS = ["ValidateOrder", "ProcessPayment", "NotifyConfirmed"]


def finished(method: PaymentMethod = PaymentMethod.VISA) -> str:
    """Place an order and wait for its execution to end."""
    (order,) = backend.submit_orders([order_request(method)], caller=operator_caller())
    summary = backend.wait_for_orders([order.order_id], timeout_seconds=60)[order.order_id]
    assert summary.outcome.terminal, summary
    return order.order_id


def complete_trace(order_id: str) -> trace.OrderTrace:
    """The order's trace once every function's lines and reports have reached the logs."""

    def built() -> trace.OrderTrace | None:
        detail = execution_detail(order_id)
        assert detail is not None
        found = trace.build(detail, order_logs.for_order(order_id, detail.stopped_at))
        tasks = [step for step in found.steps if step.kind == "task"]
        ready = found.message_id and found.notification_message_id and tasks
        return found if ready and all(step.request_id and "duration_ms" in step.detail for step in tasks) else None

    return poll(built, timeout=30, interval=0.5, what=f"the whole trace of {order_id}")


def test_an_order_is_traced_from_its_message_to_its_notification(local_aws: Any) -> None:
    found = complete_trace(finished())
    assert found.message_id
    assert found.starter_request_id
    assert found.batch_size is not None
    assert found.batch_size >= 1
    kinds = [step.kind for step in found.steps]
    assert kinds[:4] == ["placed", "queued", "batch", "execution"]
    tasks = [step for step in found.steps if step.kind == "task"]
    assert [step.name for step in tasks] == TASKS
    assert len({step.request_id for step in tasks}) == 3
    assert all(step.cold_start is not None and step.detail["duration_ms"] >= 0 for step in tasks)
    assert found.idempotency is not None
    assert found.idempotency.status == "COMPLETED"
    assert found.idempotency.expires_at is not None
    assert "idempotency" in kinds
    assert found.notification_message_id
    assert found.cost is not None  # measured: its invocations, transitions and requests
    assert found.cost.step_functions == 5 * US_EAST_1.state_transition  # 5 states entered on the happy path, no retry
    assert found.cost.lambda_compute > 0
    assert found.cost.sqs > 0
    assert found.cost.total == sum(getattr(found.cost, part) for part in SERVICES)
    # A second order meets the same, now warm, workers.
    again = complete_trace(finished())
    assert any(step.cold_start is False for step in again.steps if step.kind == "task")


def test_a_retried_payment_shows_each_attempt_with_its_invocation(local_aws: Any) -> None:
    found = complete_trace(finished(PaymentMethod.TIMEOUT_ONCE))
    payments = [step for step in found.steps if step.name == "ProcessPayment"]
    assert [step.attempt for step in payments] == [1, 2]
    assert [step.detail["status"] for step in payments] == ["FAILED", "SUCCEEDED"]
    assert payments[0].detail["error"] == "PaymentGatewayTimeout"
    assert payments[0].request_id
    assert payments[0].request_id != payments[1].request_id


@pytest.fixture
def poison_order(local_aws: Any) -> Iterator[str]:
    """An order the ledger knows whose message the starter cannot start (a body that is no valid order); its
    message is deleted from the DLQ afterwards."""
    # On a local AWS whose starter has never run, the first message it receives stays hidden far longer than the
    # queue's visibility timeout (a local AWS quirk, seen with any poison message): one order warms it first.
    finished()
    order_id = new_order_id()
    ledger.add([order_id], int(time.time()) + 3600)
    sqs = aws.client("sqs")
    sqs.send_message(QueueUrl=aws.resources().orders_queue_url, MessageBody=json.dumps({"order_id": order_id}))
    yield order_id
    url = aws.resources().dead_letter_queue_url
    for _ in range(20):
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
        mine = [m for m in batch if order_id in m["Body"]]
        others = [m for m in batch if order_id not in m["Body"]]
        for message in others:  # not ours: visible again at once
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
        for message in mine:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if mine or not batch:
            break
    ledger.remove([order_id])


def test_an_order_whose_starts_all_failed_answers_dead_lettered(poison_order: str) -> None:
    def dead() -> lookup.DeadLettered | None:
        found = lookup.locate(poison_order)
        assert not isinstance(found, backend.OrderDetail)
        return found if isinstance(found, lookup.DeadLettered) else None

    found = poll(dead, timeout=90, interval=1, what="the poison order to be dead-lettered")
    assert found.receive_count == 5
    assert found.dead_lettered_at >= found.placed_at
    assert "dead-lettered at about" in found.describe()
    assert backend.queues.queue_stats("dlq").depth >= 1
    # The command line and the Order page answer the same.
    run = cli("status", poison_order)
    assert run.returncode == 3
    assert "dead-lettered at about" in run.stdout
    import streamlit as st

    st.cache_data.clear()
    app = AppTest.from_file(str(PROJECT_ROOT / "streamlit_app.py"), default_timeout=60)
    app.run()
    app.query_params["order"] = poison_order
    app.switch_page("pages/order.py").run()
    assert not app.exception
    assert any("dead-lettered at about" in str(element.value).replace("\\", "") for element in app.info)


class HistoryReads:
    """Counts GetExecutionHistory calls on the app's Step Functions client."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, model: Any, **_: Any) -> None:
        if model.name == "GetExecutionHistory":
            self.count += 1


def test_the_order_page_draws_the_trace_from_one_history_read_per_refresh(local_aws: Any) -> None:
    import streamlit as st

    order_id = finished(PaymentMethod.TIMEOUT_ONCE)
    complete_trace(order_id)
    st.cache_data.clear()
    app = AppTest.from_file(str(PROJECT_ROOT / "streamlit_app.py"), default_timeout=60)
    app.run()
    reads = HistoryReads()
    events = aws.client("stepfunctions").meta.events
    events.register("before-call", reads)
    try:
        app.query_params["order"] = order_id
        app.switch_page("pages/order.py").run()
    finally:
        events.unregister("before-call", reads)
    assert not app.exception
    assert reads.count == 1
    steps = next(frame.value for frame in app.dataframe if "Request id" in frame.value.columns)
    assert steps["Step"].tolist()[:4] == ["Placed", "In the orders queue", "Starter batch", "Execution"]
    assert steps[steps["Step"] == "ProcessPayment"]["Attempt"].tolist() == [1, 2]
    assert all(steps[steps["Kind"] == "task"]["Request id"].astype(bool))
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Payment record"] == "COMPLETED"
    assert metrics["Cost"].startswith("$0.000")  # a tenth of a thousandth of a dollar or so, measured
    assert metrics["SQS message"] != "not seen yet"
