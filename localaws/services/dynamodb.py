"""Corrections to moto's DynamoDB: Time to Live, from the template and carried out (moto stores it, never acts)."""

from __future__ import annotations

import functools
import importlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from localaws.services._names import table_name_problem
from localaws.services._patching import acknowledged, is_ours, iter_backends, mark, require_params

LOG = logging.getLogger(__name__)


def cloudformation_time_to_live() -> None:
    """moto's CloudFormation skips a table's TimeToLiveSpecification; it is set as UpdateTimeToLive would."""
    correction = "CloudFormation table Time to Live"
    table_cls = importlib.import_module("moto.dynamodb.models.table").Table
    original = table_cls.__dict__["create_from_cloudformation_json"].__func__
    if is_ours(original):
        return
    require_params(
        correction, original, ["cls", "resource_name", "cloudformation_json", "account_id", "region_name", "kwargs"]
    )

    @functools.wraps(original)
    def create_from_cloudformation_json(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        table = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        spec = cloudformation_json["Properties"].get("TimeToLiveSpecification")
        if spec:
            table.ttl = {
                "TimeToLiveStatus": "ENABLED" if spec.get("Enabled") else "DISABLED",
                "AttributeName": spec["AttributeName"],
            }
        return table

    table_cls.create_from_cloudformation_json = classmethod(mark(create_from_cloudformation_json))


def _expired(item: Any, attribute: str, now: float) -> bool:
    value = item.attrs.get(attribute)
    # As on AWS: only a Number (epoch seconds) expires; other types and missing attributes never do.
    if value is None or value.type != "N":
        return False
    try:
        return float(value.value) < now
    except ValueError:
        return False


def expire_items(now: float | None = None) -> int:
    """Delete the items whose Time to Live attribute has passed, in every table with TTL enabled; return how many."""
    from moto.dynamodb.models import dynamodb_backends

    now = time.time() if now is None else now
    deleted = 0
    for backend in iter_backends(dynamodb_backends):
        for table in list(backend.tables.values()):
            ttl = getattr(table, "ttl", {})
            if ttl.get("TimeToLiveStatus") != "ENABLED":
                continue
            attribute = ttl["AttributeName"]
            if table.has_range_key:
                keys = [(h, r) for h, items in list(table.items.items()) for r, item in list(items.items())
                        if _expired(item, attribute, now)]  # fmt: skip
            else:
                keys = [(h, None) for h, item in list(table.items.items()) if _expired(item, attribute, now)]
            for hash_key, range_key in keys:
                item = table.delete_item(hash_key, range_key)
                if item is not None:
                    deleted += 1
                    _record_delete(table, item.to_json()["Attributes"])
    return deleted


# --- Durability -------------------------------------------------------------------------------------
# Every write's resulting item (or its deletion) is on disk before the write is answered: the payment
# idempotency records are what keeps a resumed execution from charging an order twice.

JOURNALED = "__localaws_journal__"
_journal: list[Any] = []


def record_to(journal: Any) -> None:
    """Journal every item write to journal (None: stop)."""
    _journal[:] = [journal] if journal is not None else []


def _key(table: Any, attributes: dict[str, Any]) -> str:
    from localaws.journal import dumps

    names = [name for name in (table.hash_key_attr, table.range_key_attr) if name]
    return dumps({name: attributes[name] for name in names})


def _record_put(table: Any, attributes: dict[str, Any]) -> None:
    from localaws.journal import dumps

    if _journal:
        row = (table.table_arn, _key(table, attributes), dumps(attributes))
        _journal[0].write([("INSERT OR REPLACE INTO items VALUES (?, ?, ?)", [row])])


def _record_delete(table: Any, attributes: dict[str, Any]) -> None:
    if _journal:
        row = (table.table_arn, _key(table, attributes))
        _journal[0].write([("DELETE FROM items WHERE table_arn = ? AND key = ?", [row])])


def journal_items() -> None:
    """Write every PutItem, UpdateItem, DeleteItem and BatchWriteItem ahead to the journal, on disk before it is
    answered."""
    correction = "DynamoDB journal"
    backend_cls = importlib.import_module("moto.dynamodb.models").DynamoDBBackend
    responses = importlib.import_module("moto.dynamodb.responses").DynamoHandler
    put, update, delete = (backend_cls.__dict__[name] for name in ("put_item", "update_item", "delete_item"))
    if is_ours(put, JOURNALED):
        return
    require_params(
        correction,
        put,
        [
            "self",
            "table_name",
            "item_attrs",
            "expected",
            "condition_expression",
            "expression_attribute_names",
            "expression_attribute_values",
            "overwrite",
            "return_values_on_condition_check_failure",
        ],
    )
    require_params(
        correction,
        update,
        [
            "self",
            "table_name",
            "key",
            "update_expression",
            "expression_attribute_names",
            "expression_attribute_values",
            "attribute_updates",
            "expected",
            "condition_expression",
            "return_values_on_condition_check_failure",
        ],
    )
    require_params(
        correction,
        delete,
        [
            "self",
            "table_name",
            "key",
            "expression_attribute_names",
            "expression_attribute_values",
            "condition_expression",
            "return_values_on_condition_check_failure",
        ],
    )

    def recording_the_item(write: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(write)
        def written(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
            item = write(self, table_name, *args, **kwargs)
            _record_put(self.get_table(table_name), item.to_json()["Attributes"])
            return item

        return written

    @functools.wraps(delete)
    def delete_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        item = delete(self, table_name, key, *args, **kwargs)
        _record_delete(self.get_table(table_name), key)
        return item

    backend_cls.put_item = mark(recording_the_item(put), JOURNALED)
    backend_cls.update_item = mark(recording_the_item(update), JOURNALED)
    backend_cls.delete_item = mark(delete_item, JOURNALED)
    # Synced per request, not per item: a BatchWriteItem of 25 waits for one fsync, not for 25 in a row.
    for name in ("put_item", "update_item", "delete_item", "batch_write_item"):
        setattr(responses, name, acknowledged(responses.__dict__[name], _journal, JOURNALED))


def restore(journal: Any) -> dict[str, int]:
    """Put the journaled items back into their tables."""
    from moto.dynamodb.models import dynamodb_backends

    backends = iter_backends(dynamodb_backends)
    tables = {table.table_arn: table for backend in backends for table in list(backend.tables.values())}
    restored = lost = 0
    for row in journal.rows("SELECT table_arn, item FROM items"):
        table = tables.get(row["table_arn"])
        if table is None:
            lost += 1
            continue
        table.put_item(json.loads(row["item"]))
        restored += 1
    if lost:
        LOG.warning("%d journaled items belong to tables that no longer exist; not restored", lost)
    return {"items": restored, "items_without_table": lost}


def table_names() -> None:
    """moto creates a table by any name ("../x", "ab"); DynamoDB refuses one outside [a-zA-Z0-9_.-]{3,255}."""
    correction = "DynamoDB table names"
    backend_cls = importlib.import_module("moto.dynamodb.models").DynamoDBBackend
    exceptions = importlib.import_module("moto.dynamodb.exceptions")
    original = backend_cls.__dict__["create_table"]
    if is_ours(original):
        return
    require_params(
        correction, original,
        ["self", "name", "schema", "throughput", "attr", "global_indexes", "indexes", "streams", "billing_mode",
         "sse_specification", "tags", "deletion_protection_enabled", "warm_throughput"],
    )  # fmt: skip

    @functools.wraps(original)
    def create_table(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        problem = table_name_problem(name)
        if problem:
            raise exceptions.MockValidationException(
                f"1 validation error detected: Value '{name}' at 'tableName' failed to satisfy constraint: {problem}"
            )
        return original(self, name, *args, **kwargs)

    backend_cls.create_table = mark(create_table)


CORRECTIONS = (
    ("DynamoDB table names", table_names),
    ("CloudFormation table Time to Live", cloudformation_time_to_live),
    ("DynamoDB journal", journal_items),
)
