"""The pipeline's API for the app and the CLI: the same calls whether it runs on the local AWS or on AWS."""

# Operator modules, reached as backend.queues, backend.operations, backend.monitoring, backend.audit.
from backend import audit, identity, lookup, monitoring, operations, queues
from backend.aws import connection, reset
from backend.errors import BackendError, NotFound
from backend.executions import OrderSummary, Outcome, StateRun
from backend.identity import Caller, Forbidden, Role
from backend.lookup import InvalidOrderId, Located, locate
from backend.orders import (
    InvalidOrders,
    OrderDetail,
    get_order,
    list_orders,
    queue_depth,
    submit_orders,
    validate_requests,
    wait_for_orders,
)

__all__ = [
    "BackendError",
    "Caller",
    "Forbidden",
    "InvalidOrderId",
    "InvalidOrders",
    "Located",
    "NotFound",
    "OrderDetail",
    "OrderSummary",
    "Outcome",
    "Role",
    "StateRun",
    "audit",
    "connection",
    "get_order",
    "identity",
    "list_orders",
    "locate",
    "lookup",
    "monitoring",
    "operations",
    "queue_depth",
    "queues",
    "reset",
    "submit_orders",
    "validate_requests",
    "wait_for_orders",
]
