"""Handlers for testing the local Lambda runtime (zipped and created through CreateFunction; not the pipeline)."""

import json
import os
import signal
import time

invocations = 0  # module state: lives as long as the worker process


def echo(event, context):
    global invocations
    invocations += 1
    print(f"echo says hello to {context.function_name}")
    return {
        "event": event,
        "function": context.function_name,
        "environment": dict(os.environ),
        "pid": os.getpid(),
        "invocations": invocations,
        "remaining_ms": context.get_remaining_time_in_millis(),
    }


def boom(event, context):
    raise ValueError("the gateway is silent")


def slow(event, context):
    time.sleep(event.get("seconds", 5))
    return {"slept": True}


def die(event, context):
    print("about to die")
    how = event["how"]
    if how == "exit":
        os._exit(3)
    if how == "signal":
        os.kill(os.getpid(), signal.SIGKILL)
    raise MemoryError("out of memory")


def die_once(event, context):
    """Dies in its first invocation for an order (a crashed environment), then answers as SendNotification does."""
    marker = os.path.join(os.environ["MARKER_DIR"], event["order"]["order_id"])
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return {"message_id": "m-1", "kind": event["kind"]}


def batch(event, context):
    """An SQS consumer that fails the records whose body is "fail", and dies on one whose body is "crash"."""
    if any(r["body"] == "crash" for r in event["Records"]):
        os._exit(1)
    failures = [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "fail"]
    print(json.dumps({"batch": [r["body"] for r in event["Records"]]}))
    return {"batchItemFailures": failures}


def emf(event, context):
    print(
        json.dumps(
            {
                "_aws": {
                    "Timestamp": int(time.time() * 1000),
                    "CloudWatchMetrics": [
                        {"Namespace": "RuntimeTest", "Dimensions": [["service"]], "Metrics": [{"Name": "Things"}]}
                    ],
                },
                "service": "runtime-test",
                "Things": [1, 2],
            }
        )
    )
    return {}


def call_aws(event, context):
    """Make one AWS call with the function's own (execution role) credentials; return its error code, if any."""
    import boto3
    from botocore.exceptions import ClientError

    client = boto3.client(event["service"])
    try:
        getattr(client, event["operation"])(**event["parameters"])
    except ClientError as error:
        return {"error": error.response["Error"]["Code"], "message": error.response["Error"].get("Message", "")}
    return {"error": None, "key": os.environ["AWS_ACCESS_KEY_ID"][:4]}
