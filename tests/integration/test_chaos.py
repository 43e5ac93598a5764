"""Faults injected into the running pipeline: the chaos rules reach every caller, and a short chaos run
(bench/chaos.py, 500 orders and one kill -9) loses, repeats and double-charges nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from backend import aws, orders
from backend.executions import Outcome, history_events, timeline
from bench import chaos as chaos_bench
from lambdas.domain.order import Order
from lambdas.domain.workflow import execution_input
from localaws import instance, journal
from tests.conftest import PROJECT_ROOT, operator_caller, order_request, poll
from tests.integration.conftest import ChaosRules

SERVICE_ERROR = {"code": "ServiceException", "statusCode": 500, "message": "injected"}


def test_a_rule_fails_the_calls_it_names_with_the_services_own_error(chaos_rules: ChaosRules) -> None:
    sqs, url = aws.client("sqs"), aws.resources().orders_queue_url
    listed = chaos_rules([{"service": "sqs", "operation": "GetQueueAttributes", "error": {"code": "QueueBusy"}}])
    assert listed[0]["error"]["statusCode"] == 503
    with pytest.raises(ClientError) as raised:
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    assert raised.value.response["Error"]["Code"] == "QueueBusy"
    sqs.get_queue_url(QueueName=url.rsplit("/", 1)[1])  # another operation passes


def test_a_task_state_sees_an_injected_invoke_error_and_retries_it(chaos_rules: ChaosRules) -> None:
    validate = aws.resources().function_names["validate_order"]
    chaos_rules([{"service": "lambda", "operation": "Invoke", "function": validate, "error": SERVICE_ERROR}])
    (order,) = orders.submit_orders([order_request()], caller=operator_caller())
    detail = poll(lambda: _finished(order.order_id), timeout=60, what="the order to fail")
    assert detail.outcome is Outcome.FAILED
    validation = next(run for run in detail.timeline if run.name == "ValidateOrder")
    assert validation.failed_attempts == ["Lambda.ServiceException"] * 4  # the first attempt and 3 retries


def test_an_order_whose_starter_failed_four_times_is_still_started(chaos_rules: ChaosRules, local_aws: Any) -> None:
    """The event source leaves a batch whose invoke failed on the queue; the redrive policy allows five receives
    (with three, a starter crashing three times under the chaos bench dead-lettered valid orders)."""
    starter = aws.resources().function_names["start_order"]
    chaos_rules([{"service": "lambda", "operation": "Invoke", "function": starter, "error": SERVICE_ERROR}])
    (order,) = orders.submit_orders([order_request()], caller=operator_caller())
    db = instance.state_dir() / journal.FILE_NAME

    def received() -> int:
        with sqlite3.connect(db) as reader:
            row = reader.execute("SELECT max(receive_count) FROM messages WHERE body LIKE ?", [f"%{order.order_id}%"])
            return row.fetchone()[0] or 0

    poll(lambda: received() >= 4, timeout=60, interval=0.05, what="the starter's invoke to fail four times")
    assert _finished(order.order_id) is None
    chaos_rules([])  # before the fifth receive, the last one the redrive policy allows
    assert poll(lambda: _finished(order.order_id), timeout=60, what="the order").outcome is Outcome.SUCCEEDED


def test_a_paid_order_whose_notification_crashed_is_retried_and_succeeds(
    local_aws: Any, make_function: Any, test_role: str, tmp_path: Path
) -> None:
    """The workflow as deployed, but SendNotification's environment crashes once per order (Runtime.ExitError)."""
    names = aws.resources().function_names
    arn = "arn:aws:lambda:us-east-1:123456789012:function:{}".format
    substitutions = {
        "ValidateOrderFunctionArn": arn(names["validate_order"]),
        "ProcessPaymentFunctionArn": arn(names["process_payment"]),
        "SendNotificationFunctionArn": arn(make_function("die_once", environment={"MARKER_DIR": str(tmp_path)})),
    }
    definition = (PROJECT_ROOT / "workflow.asl.json").read_text()
    for key, value in substitutions.items():
        definition = definition.replace("${" + key + "}", value)
    sfn = aws.client("stepfunctions")
    machine = sfn.create_state_machine(name="crashing-notification", definition=definition, roleArn=test_role)
    order = Order.place(order_request())
    execution = sfn.start_execution(
        stateMachineArn=machine["stateMachineArn"], name=order.order_id, input=execution_input(order)
    )
    arn_of = execution["executionArn"]
    poll(lambda: sfn.describe_execution(executionArn=arn_of)["status"] != "RUNNING", timeout=60, what="the run")
    assert sfn.describe_execution(executionArn=arn_of)["status"] == "SUCCEEDED"
    runs = timeline(history_events(sfn, arn_of))
    notify = next(run for run in runs if run.name == "NotifyConfirmed")
    assert notify.failed_attempts == ["Runtime.ExitError"]


def _finished(order_id: str) -> Any:
    from backend import NotFound, get_order

    try:
        detail = get_order(order_id)
    except NotFound:
        return None
    return detail if detail.outcome.terminal else None


@pytest.mark.timeout(600)  # about 2 min on 2 cores at load 5; 4 to 5 min at load 25
def test_a_short_chaos_run_loses_repeats_and_double_charges_nothing() -> None:
    report = chaos_bench.run(orders_count=500, kills=1, stall_seconds=8, seed=3)
    print(report.model_dump_json())  # the figures, with -s
    assert report.acknowledged == 500
    assert (report.lost, report.duplicated_executions, report.double_charged) == (0, 0, 0)
    assert report.poison_in_dlq == report.poison_sent > 0
    assert report.orders_in_dlq == 0
    assert report.unexpected_outcomes == 0
    assert report.injected["local_aws_kills"] == 1
    assert report.injected["worker_kills"] > 0
    # Enabled=false stops the event source: at most the batch a poller had received, not the pipeline's ~40 in 6 s.
    assert report.injected["started_while_stalled"] <= 10
