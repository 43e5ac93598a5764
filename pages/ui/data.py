"""Every backend read of the pages goes through here: cached with a TTL, or, for what only this process knows (the
connection being made, the demo running), read live."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import streamlit as st

import backend
from backend import alarm_history as alarm_history_
from backend import alarms as alarms_
from backend import audit, aws, costs, functions, graph, monitoring, notifications, operations, queues, redrive, sandbox
from backend import order_logs as order_logs_
from backend import trace as trace_
from backend.demo import script as demo_script

LIVE_TTL = 5  # seconds: tiles that refresh every few seconds
WATCH_TTL = 1  # seconds: an order or burst being watched as it runs
WINDOW_TTL = 15  # seconds: window aggregates from CloudWatch


def readiness() -> aws.Readiness:
    """Whether the backend is connected; the first call starts connecting (and the local AWS) in the background."""
    return aws.readiness()


@st.cache_data(ttl=30, show_spinner=False)
def home() -> dict[str, str]:
    """Which AWS the app talks to: home (local or aws), region, endpoint and stack."""
    connection = backend.connection()
    return {
        "home": connection.home.value,
        "region": connection.region,
        "endpoint": connection.endpoint_url or "",
        "stack": connection.stack_name,
    }


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def health() -> dict[str, int]:
    """The orders queue's depth, which also says whether AWS answers."""
    return backend.queue_depth()


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def sandbox_status() -> sandbox.Status | None:
    return sandbox.status()


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def overview() -> monitoring.Overview:
    return monitoring.overview()


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def queue_stats(role: queues.QueueRole) -> queues.QueueStats:
    return queues.queue_stats(role)


@st.cache_data(ttl=WATCH_TTL, show_spinner=False)
def move_tasks() -> list[redrive.MoveTask]:
    """The DLQ's recent redrives, read often while one runs."""
    return redrive.move_tasks()


def _window(window: str) -> tuple[datetime, datetime, int]:
    """A window's start (that of its first minute: metrics are kept per minute, so buckets fall on whole minutes),
    its end (now) and its bucket in seconds."""
    span = monitoring.WINDOWS[window]
    until = datetime.now(UTC)
    return monitoring.minute_floor(until - span), until, monitoring.bucket_seconds(span)


@st.cache_data(ttl=WINDOW_TTL, show_spinner=False)
def sqs_activity(role: queues.QueueRole, window: str) -> queues.SqsActivity:
    return queues.sqs_activity(role, *_window(window))


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def audit_actions(placed_orders: bool = False, limit: int = 50) -> list[audit.AuditedAction]:
    return audit.recent_actions(limit, placed_orders=placed_orders)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def executions_page(
    status: str | None, window: str | None, order_id: str | None, page_size: int, token: str | None
) -> operations.ExecutionPage:
    since = datetime.now(UTC) - monitoring.WINDOWS[window] if window in monitoring.WINDOWS else None
    filters = operations.ExecutionFilter(status=status, since=since, order_id=order_id or None)
    return operations.list_executions(filters, page_size, token)


@st.cache_data(ttl=3, show_spinner=False)
def recent_orders(limit: int) -> list[backend.OrderSummary]:
    return backend.list_orders(limit=limit)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def order_detail(order_id: str) -> backend.OrderDetail:
    return backend.get_order(order_id)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def locate(order_id: str) -> backend.Located:
    return backend.locate(order_id)


@st.cache_data(ttl=WATCH_TTL, show_spinner=False)
def watch(order_id: str) -> backend.Located:
    """Where an order is now, for a page that follows it as it runs."""
    return backend.locate(order_id)


@st.cache_data(ttl=WATCH_TTL, show_spinner=False)
def watch_burst(order_ids: Sequence[str]) -> dict[str, backend.OrderSummary]:
    """Where each order of a burst is now (without waiting)."""
    return backend.wait_for_orders(list(order_ids), timeout_seconds=0)


@st.cache_data(ttl=WINDOW_TTL, show_spinner=False)
def window_report(window: str) -> monitoring.WindowReport:
    """Counts, throughput and latency of the window (one GetMetricData call)."""
    span = monitoring.WINDOWS[window]
    return monitoring.window_report(datetime.now(UTC) - span, seconds=monitoring.bucket_seconds(span))


@st.cache_data(ttl=WINDOW_TTL, show_spinner=False)
def lambda_metrics(window: str) -> list[monitoring.LambdaSeries]:
    return monitoring.lambda_metrics(*_window(window))


@st.cache_data(ttl=WINDOW_TTL, show_spinner="Querying the functions' reports…")
def functions_report(window: str) -> functions.FunctionsReport:
    """Each function's figures over the window (two Logs Insights queries per function, one GetMetricData call)."""
    return functions.functions_report(*_window(window))


@st.cache_data(ttl=WINDOW_TTL, show_spinner="Measuring the cost per order…")
def order_cost(window: str) -> costs.OrderCost:
    return costs.order_cost(*_window(window))


def clear() -> None:
    """Forget every cached read (after an operator action changed what they show)."""
    st.cache_data.clear()


@st.cache_data(ttl=30, show_spinner=False)
def has_dlq() -> bool:
    """Whether the pipeline has a dead-letter queue configured."""
    return bool(aws.resources().dead_letter_queue_url)


@st.cache_data(ttl=300, show_spinner=False)
def workflow() -> graph.Workflow:
    """The deployed state machine's definition as a graph (changes only with a deploy)."""
    return graph.workflow()


@st.cache_data(ttl=30, show_spinner="Reading execution histories…")
def workflow_aggregate(window: str | None, limit: int) -> graph.Aggregate:
    """Per-state figures over the newest executions of the window (one GetExecutionHistory each)."""
    since = datetime.now(UTC) - monitoring.WINDOWS[window] if window in monitoring.WINDOWS else None
    return graph.window_aggregate(since, limit)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def order_logs(order_id: str, stopped_at: datetime | None) -> list[order_logs_.LogLine]:
    return order_logs_.for_order(order_id, stopped_at)


@st.cache_data(ttl=WATCH_TTL, show_spinner=False)
def order_trace(
    order_id: str, version: str, _detail: backend.OrderDetail, _lines: list[order_logs_.LogLine]
) -> trace_.OrderTrace:
    """The order's trace from what the page already read (not hashed: version names what it was built from)."""
    return trace_.build(_detail, _lines)


def trace_version(detail: backend.OrderDetail, lines: Sequence[order_logs_.LogLine]) -> str:
    """What an order's trace is built from, as a cache key: it changes when the execution or its lines do."""
    return f"{detail.status}|{detail.stopped_at}|{len(detail.attempts)}|{len(lines)}"


@st.cache_data(ttl=WINDOW_TTL, show_spinner=False)
def notification_report(window: str, limit: int) -> notifications.NotificationReport:
    return notifications.recent(datetime.now(UTC) - monitoring.WINDOWS[window], limit=limit)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def alarms() -> list[alarms_.Alarm]:
    """The stack's alarms and their state (one DescribeAlarms call)."""
    return alarms_.stack_alarms()


@st.cache_data(ttl=30, show_spinner=False)
def alarm_history() -> alarm_history_.HistoryReport:
    """The stack's alarms' changes over the last 24 h, their ALARM periods and the orders that failed in each."""
    return alarm_history_.recent_history()


def demo() -> demo_script.Demo | None:
    """The demo running in this process, or the last one that ran (this process's own state: never cached)."""
    return demo_script.current()
