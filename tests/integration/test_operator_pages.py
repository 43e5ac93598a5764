"""The operator pages, run by AppTest on the session's local AWS with a known mix: they render and show its numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import backend
from backend import aws, monitoring, queues
from backend.executions import Outcome
from lambdas.domain.order import Order, PaymentMethod
from tests.conftest import PROJECT_ROOT, operator_caller, poll, settled_kpis
from tests.conftest import order_request as request


@pytest.fixture(scope="module")
def expected(local_aws: Any) -> dict[str, Any]:
    """Place 6 succeeding, 2 rejected and 2 declined orders; return what the 1 h window must then show."""
    base = settled_kpis()
    requests = [request()] * 6 + [request(lines=[{"sku": "LIMITED-PRINT", "quantity": 3}])] * 2
    requests += [request(PaymentMethod.DECLINED)] * 2
    placed = backend.submit_orders(requests, caller=operator_caller())
    results = backend.wait_for_orders([o.order_id for o in placed], timeout_seconds=60)
    assert all(summary.outcome.terminal for summary in results.values())
    # CloudWatch shows data after a delay; the local AWS flushes its telemetry every few seconds.
    poll(lambda: any(sum(series.invocations) for series in _lambda_metrics()), timeout=30, what="Lambda metrics")
    kpis = base.model_copy(
        update={
            "placed": base.placed + 10,
            "succeeded": base.succeeded + 6,
            "rejected": base.rejected + 2,
            "declined": base.declined + 2,
        }
    )

    def counted(kpis: monitoring.Kpis) -> tuple[int, ...]:
        return kpis.placed, kpis.succeeded, kpis.rejected, kpis.declined, kpis.errored

    poll(
        lambda: counted(monitoring.window_report(datetime.now(UTC) - timedelta(hours=1)).kpis) == counted(kpis),
        timeout=30,
        what="the orders in the metrics",
    )
    return {"kpis": kpis, "order_id": placed[0].order_id, "declined": placed[-1].order_id}


def _lambda_metrics() -> list[monitoring.LambdaSeries]:
    now = datetime.now(UTC)
    return monitoring.lambda_metrics(now - timedelta(hours=1), now + timedelta(minutes=1), 60)


@pytest.fixture
def app(expected: dict) -> AppTest:
    import streamlit as st

    st.cache_data.clear()
    at = AppTest.from_file(str(PROJECT_ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(str(m.value) for m in at.metric if m.label == label)


def test_overview_is_the_home_and_shows_the_tiles(app: AppTest, expected: dict) -> None:
    assert [m.label for m in app.metric] == [
        "Orders queue",
        "Dead-letter queue",
        "Running",
        "Success rate (1 h)",
        "p90 latency (1 h)",
    ]
    # The mix is in the window (the fixture checked its counts); the tile shows the window as the backend reads it
    # now, which also holds what other tests finished meanwhile.
    now = monitoring.overview()
    assert now.finished_1h >= expected["kpis"].succeeded
    assert metric(app, "Success rate (1 h)") == f"{now.success_rate_1h:.1%}"
    assert metric(app, "Dead-letter queue") == str(queues.queue_stats("dlq").depth)


def test_metrics_page_shows_the_mix(app: AppTest, expected: dict) -> None:
    app.switch_page("pages/metrics.py").run()
    assert not app.exception
    kpis = expected["kpis"]
    assert metric(app, "Orders placed") == str(kpis.placed)
    assert metric(app, "Succeeded") == str(kpis.succeeded)
    assert metric(app, "Rejected") == str(kpis.rejected)
    assert metric(app, "Declined") == str(kpis.declined)
    assert metric(app, "Success rate") == f"{kpis.succeeded / kpis.finished:.1%}"
    assert metric(app, "Payment decline rate") == f"{kpis.declined / (kpis.succeeded + kpis.declined):.1%}"
    captions = " ".join(c.value for c in app.caption)
    assert "Source: CloudWatch AWS/States" in captions
    assert "Source: CloudWatch AWS/Lambda" in captions
    for window in ("15 min", "6 h", "24 h"):
        app.segmented_control(key="metrics_window").set_value(window).run()
        assert not app.exception


def test_executions_page_filters_by_order_id_and_opens_the_detail(app: AppTest, expected: dict) -> None:
    app.switch_page("pages/executions.py").run()
    assert not app.exception
    assert app.dataframe[0].value["Order"].str.contains(expected["order_id"]).any()
    app.selectbox(key="exec_status").set_value("FAILED").run()
    assert not app.exception
    assert set(app.dataframe[0].value["Status"]) == {"FAILED"}
    app.selectbox(key="exec_status").set_value("All")
    app.text_input(key="exec_order_id").input(expected["declined"]).run()
    assert len(app.dataframe[0].value) == 1
    assert expected["declined"] in app.dataframe[0].value["Order"][0]
    app.selectbox(key="exec_detail").set_value(expected["declined"]).run()
    assert not app.exception
    assert "PaymentDeclined" in " ".join(e.value for e in app.error)
    history = next(frame.value for frame in app.dataframe if "Type" in frame.value.columns)
    assert history["Type"].iloc[-1] == "ExecutionFailed"
    assert app.button(key="exec_redrive")


def test_queues_page_shows_the_dlq_and_redrives_it_with_a_move_task(app: AppTest) -> None:
    began = datetime.now(UTC)
    sqs, dlq_url = aws.client("sqs"), aws.resources().dead_letter_queue_url
    before = queues.queue_stats("dlq").visible
    orders = [Order.place(request()) for _ in range(3)]
    for order in orders:
        sqs.send_message(QueueUrl=dlq_url, MessageBody=order.model_dump_json())
    app.switch_page("pages/queues.py").run()
    assert not app.exception
    dlq_visible = [m.value for m in app.metric if m.label == "Visible"][1]
    assert str(dlq_visible) == str(before + 3)

    app.button(key="dlq_peek").click().run()
    assert not app.exception
    assert queues.queue_stats("dlq").visible == before + 3  # peeking lost nothing

    app.number_input(key="redrive_rate").set_value(50).run()
    app.button(key="redrive_start").click().run()
    assert not app.exception
    poll(lambda: queues.queue_stats("dlq").visible == 0, timeout=30, what="the move task to empty the DLQ")
    ids = [o.order_id for o in orders]
    poll(
        lambda: sum(s.outcome is Outcome.SUCCEEDED for s in backend.wait_for_orders(ids, 0).values()) == 3,
        timeout=60,
        what="the redriven orders to run",
    )
    app.run()
    tasks = next(frame.value for frame in app.dataframe if "Moved" in frame.value.columns)
    assert (tasks["Status"][0], tasks["Moved"][0], tasks["Rate (msg/s)"][0]) == ("COMPLETED", before + 3, "50")
    audit_table = app.dataframe[-1].value
    assert {"redrive-dlq", "peek-dlq"} <= set(audit_table["Action"])
    # This test's own actions: the sandbox's local operator, since it began (test_audit.py's refusals share the log).
    mine = audit_table["Who"].str.endswith("(local)") & (audit_table["When"] >= began)
    ours = audit_table[audit_table["Action"].isin(["redrive-dlq", "peek-dlq"]) & mine]
    assert set(ours["Action"]) == {"redrive-dlq", "peek-dlq"}
    assert set(ours["Outcome"]) == {"succeeded"}  # each intent joined with its outcome
    assert "place-orders" not in set(audit_table["Action"])  # placed orders only when asked for
    app.toggle(key="audit_placed_orders").set_value(True).run()
    assert "place-orders" in set(app.dataframe[-1].value["Action"])
