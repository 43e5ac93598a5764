"""Every item write journaled: the resulting item (or its deletion) is on disk before the write is answered, since the
payment idempotency records are what keep a resumed execution from charging an order twice."""

from __future__ import annotations

import json
import logging
from typing import Any

from localaws.journal import Journal, Tables, dumps
from localaws.services.backends import iter_backends
from localaws.services.patches import Correction, Kind
from localaws.services.recording import Recording

_log = logging.getLogger(__name__)
TABLES = Tables(
    """CREATE TABLE IF NOT EXISTS items (
    table_arn TEXT NOT NULL, key TEXT NOT NULL, item TEXT NOT NULL, PRIMARY KEY (table_arn, key));"""
)
recording = Recording()


def _key(table: Any, attributes: dict[str, Any]) -> str:
    names = [name for name in (table.hash_key_attr, table.range_key_attr) if name]
    return dumps({name: attributes[name] for name in names})


def record_put(table: Any, attributes: dict[str, Any]) -> None:
    """Journal an item as it now is."""
    if recording.on:
        row = (table.table_arn, _key(table, attributes), dumps(attributes))
        recording.write([("INSERT OR REPLACE INTO items VALUES (?, ?, ?)", [row])])


def record_delete(table: Any, attributes: dict[str, Any]) -> None:
    """Journal an item's deletion (attributes: at least its key)."""
    if recording.on:
        recording.write(
            [("DELETE FROM items WHERE table_arn = ? AND key = ?", [(table.table_arn, _key(table, attributes))])]
        )


journal_items = Correction(
    "DynamoDB journal",
    Kind.HOOK,
    "Every PutItem, UpdateItem, DeleteItem and BatchWriteItem is written ahead to the journal, on disk before it is "
    "answered (one sync per request: a BatchWriteItem of 25 waits for one fsync, not 25).",
)
_MODELS = "moto.dynamodb.models:DynamoDBBackend"


@journal_items.replaces(
    f"{_MODELS}.put_item",
    params=["self", "table_name", "item_attrs", "expected", "condition_expression", "expression_attribute_names",
            "expression_attribute_values", "overwrite", "return_values_on_condition_check_failure"],
)  # fmt: skip
def put_item(original: Any, self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
    item = original(self, table_name, *args, **kwargs)
    record_put(self.get_table(table_name), item.to_json()["Attributes"])
    return item


@journal_items.replaces(
    f"{_MODELS}.update_item",
    params=["self", "table_name", "key", "update_expression", "expression_attribute_names",
            "expression_attribute_values", "attribute_updates", "expected", "condition_expression",
            "return_values_on_condition_check_failure"],
)  # fmt: skip
def update_item(original: Any, self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
    item = original(self, table_name, *args, **kwargs)
    record_put(self.get_table(table_name), item.to_json()["Attributes"])
    return item


@journal_items.replaces(
    f"{_MODELS}.delete_item",
    params=["self", "table_name", "key", "expression_attribute_names", "expression_attribute_values",
            "condition_expression", "return_values_on_condition_check_failure"],
)  # fmt: skip
def delete_item(original: Any, self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    item = original(self, table_name, key, *args, **kwargs)
    record_delete(self.get_table(table_name), key)
    return item


recording.answers_when_recorded(
    journal_items,
    *(f"moto.dynamodb.responses:DynamoHandler.{name}" for name in ("put_item", "update_item", "delete_item",
                                                                    "batch_write_item")),
)  # fmt: skip


def restore(journal: Journal) -> dict[str, int]:
    """Put the journaled items back into their tables."""
    from moto.dynamodb.models import dynamodb_backends

    tables = {
        table.table_arn: table for backend in iter_backends(dynamodb_backends) for table in backend.tables.values()
    }
    restored = lost = 0
    for row in journal.rows("SELECT table_arn, item FROM items"):
        table = tables.get(row["table_arn"])
        if table is None:
            lost += 1
            continue
        table.put_item(json.loads(row["item"]))
        restored += 1
    if lost:
        _log.warning("%d journaled items belong to tables that no longer exist; not restored", lost)
    return {"items": restored, "items_without_table": lost}
