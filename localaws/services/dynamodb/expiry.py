"""Time to Live carried out, as DynamoDB does within days of an item's expiry (moto stores the setting, never acts)."""

from __future__ import annotations

import time
from typing import Any

from localaws.services.backends import iter_backends
from localaws.services.dynamodb.journal import record_delete


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
                    record_delete(table, item.to_json()["Attributes"])
    return deleted
