"""Where moto's DynamoDB answers otherwise than DynamoDB."""

from __future__ import annotations

from typing import Any

from localaws.services.names import table_name_problem
from localaws.services.patches import Correction, Kind

table_names = Correction(
    "DynamoDB table names",
    Kind.FIX,
    'moto creates a table by any name ("../x", "ab"); DynamoDB refuses one outside [a-zA-Z0-9_.-]{3,255}.',
)


@table_names.replaces(
    "moto.dynamodb.models:DynamoDBBackend.create_table",
    params=["self", "name", "schema", "throughput", "attr", "global_indexes", "indexes", "streams", "billing_mode",
            "sse_specification", "tags", "deletion_protection_enabled", "warm_throughput"],
)  # fmt: skip
def create_table(original: Any, self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    from moto.dynamodb.exceptions import MockValidationException

    problem = table_name_problem(name)
    if problem:
        raise MockValidationException(
            f"1 validation error detected: Value '{name}' at 'tableName' failed to satisfy constraint: {problem}"
        )
    return original(self, name, *args, **kwargs)


cloudformation_time_to_live = Correction(
    "CloudFormation table Time to Live",
    Kind.FIX,
    "moto's CloudFormation skips a table's TimeToLiveSpecification; it is set as UpdateTimeToLive would.",
)


@cloudformation_time_to_live.replaces(
    "moto.dynamodb.models.table:Table.create_from_cloudformation_json",
    params=["cls", "resource_name", "cloudformation_json", "account_id", "region_name", "kwargs"],
)
def create_from_cloudformation_json(
    original: Any, cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
    **kwargs: Any,
) -> Any:  # fmt: skip
    table = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    spec = cloudformation_json["Properties"].get("TimeToLiveSpecification")
    if spec:
        table.ttl = {
            "TimeToLiveStatus": "ENABLED" if spec.get("Enabled") else "DISABLED",
            "AttributeName": spec["AttributeName"],
        }
    return table


CORRECTIONS = (table_names, cloudformation_time_to_live)
