"""Corrections to moto's DynamoDB: Time to Live, from the template and carried out (moto stores it, never acts)."""

from __future__ import annotations

import functools
import importlib
import time
from typing import Any

from localaws.services._patching import is_ours, iter_backends, mark, require_params


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
                deleted += table.delete_item(hash_key, range_key) is not None
    return deleted


CORRECTIONS = (("CloudFormation table Time to Live", cloudformation_time_to_live),)
