"""Handlers for testing the local runtime (not part of the pipeline)."""

import json
import time

from lambdas.domain.payment import PaymentGatewayTimeout


def echo(event: dict, context: object) -> dict:
    print("echo says hello")
    return {"echo": event, "function": context.function_name}


def boom(event: dict, context: object) -> dict:
    raise PaymentGatewayTimeout("gateway silent")


def slow(event: dict, context: object) -> dict:
    time.sleep(1.5)  # longer than the function's 1 s timeout, on purpose
    return {}


def emf(event: dict, context: object) -> dict:
    document = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": "Shop",
                    "Dimensions": [["service"]],
                    "Metrics": [{"Name": "OrdersStarted", "Unit": "Count"}],
                }
            ],
        },
        "service": "orders",
        "OrdersStarted": [1, 1],
    }
    print(json.dumps(document))
    return {}
