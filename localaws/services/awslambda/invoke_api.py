"""Lambda's Invoke API on the one endpoint: RequestResponse, Event and DryRun, with AWS's errors and headers.

The rest of the Lambda API (ListFunctions, GetFunction, event-source mappings, ...) is moto's; only invocation is
ours, because moto runs functions in Docker. The same answers serve moto's Step Functions in-process.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode

from localaws import boundary, chaos
from localaws.config import ACCOUNT_ID
from localaws.http import HttpRequest, HttpResponse
from localaws.protocol import credential_scope
from localaws.services.awslambda.functions import FunctionNotFound
from localaws.services.awslambda.runtime import LambdaRuntime

_log = logging.getLogger(__name__)
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024  # Lambda's request and response limit for synchronous invocations
MAX_ASYNC_PAYLOAD = 1024 * 1024
LOG_TAIL_BYTES = 4096
_INVOKE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
_UNSUPPORTED = re.compile(r"^/2021-11-15/functions/[^/]+/response-streaming-invocations/?$|^/2014-11-13/functions/")
# Invoke's parameters that travel as headers, and the headers of its answer that botocore returns as output keys.
_TASK_HEADERS = {
    "InvocationType": "X-Amz-Invocation-Type",
    "LogType": "X-Amz-Log-Type",
    "ClientContext": "X-Amz-Client-Context",
}
_TASK_OUTPUT_HEADERS = {
    "X-Amz-Function-Error": "FunctionError",
    "X-Amz-Log-Result": "LogResult",
    "X-Amz-Executed-Version": "ExecutedVersion",
}


class InvokeApi:
    """Answers Lambda invocations; every other request is left to the next route."""

    def __init__(self, runtime: LambdaRuntime, default_region: str, faults: chaos.Faults | None = None) -> None:
        self._runtime = runtime
        self._default_region = default_region
        self._faults = faults
        self._async = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lambda-event")

    def __call__(self, request: HttpRequest) -> HttpResponse | None:
        match = _INVOKE.match(request.path)
        if match and request.method == "POST":
            name, region = unquote(match["name"]), self._region(request)
            if request.principal is None:  # the gateway lets nothing unsigned this far; no other caller may
                return boundary.refusal(request, "missing")
            function_arn = _function_arn(name, region)
            if not request.principal.allows("lambda:InvokeFunction", function_arn):
                return boundary.denied(request, request.principal, "lambda:InvokeFunction", function_arn)
            return self._invoke(request, name, region)
        if _UNSUPPORTED.match(request.path):
            message = "The local AWS supports Invoke only (no InvokeAsync or response streaming)."
            return _error(400, "InvalidRequestContentException", message)
        return None

    def answer_task(self, region: str, parameters: dict[str, Any]) -> dict[str, Any]:
        """Invoke's output for a Task state's call in this process, as botocore's client returns it, or its
        ClientError; no HTTP and no botocore client in between."""
        from botocore.compat import HTTPHeaders
        from botocore.exceptions import ClientError

        headers = HTTPHeaders()
        for parameter, header in _TASK_HEADERS.items():
            if parameters.get(parameter):
                headers[header] = parameters[parameter]
        payload = parameters.get("Payload") or b""
        qualifier = parameters.get("Qualifier")
        request = HttpRequest(
            "POST", "", urlencode({"Qualifier": qualifier}) if qualifier else "", headers,
            payload.encode() if isinstance(payload, str) else payload,
        )  # fmt: skip
        status, answer_headers, content = self._invoke(request, parameters["FunctionName"], region)
        metadata = {
            "RequestId": answer_headers["x-amzn-RequestId"],
            "HTTPStatusCode": status,
            "HTTPHeaders": {name.lower(): value for name, value in answer_headers.items()},
            "RetryAttempts": 0,
        }
        if status >= 300:
            error = json.loads(content)
            code = answer_headers["x-amzn-ErrorType"].split(":")[0]
            raise ClientError(
                {"Error": {"Code": code, "Message": error.get("message", "")}, "ResponseMetadata": metadata}, "Invoke"
            )
        output: dict[str, Any] = {"ResponseMetadata": metadata, "StatusCode": status, "Payload": io.BytesIO(content)}
        for header, key in _TASK_OUTPUT_HEADERS.items():
            if header in answer_headers:
                output[key] = answer_headers[header]
        return output

    def _region(self, request: HttpRequest) -> str:
        scope = credential_scope(request)
        return scope["region"] if scope else self._default_region

    def _invoke(self, request: HttpRequest, name: str, region: str) -> HttpResponse:
        qualifier = parse_qs(request.query).get("Qualifier", ["$LATEST"])[0]
        if qualifier != "$LATEST":
            name = f"{name}:{qualifier}"
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        limit = MAX_ASYNC_PAYLOAD if invocation_type == "Event" else MAX_SYNC_PAYLOAD
        if len(request.body) > limit:
            message = f"Request must be smaller than {limit} bytes for the {invocation_type} invocation type"
            return _error(413, "RequestTooLargeException", message)
        payload = request.body
        try:
            json.loads(payload or b"{}")
        except ValueError:
            message = "Could not parse request body into json: the payload is not valid JSON"
            return _error(400, "InvalidRequestContentException", message)
        try:
            self._runtime.function(name, region)
        except FunctionNotFound:
            arn_hint = name if name.startswith("arn:") else f"function {name}"
            return _error(404, "ResourceNotFoundException", f"Function not found: {arn_hint}")
        # Checked here rather than at the endpoint: Step Functions' Task states reach this method without it.
        fault = self._faults and self._faults.fault_for("lambda", "Invoke", region, chaos.function_name(name))
        if fault:
            return chaos.error_response(fault)
        if invocation_type == "DryRun":
            return _respond(204, b"", {})
        if invocation_type == "Event":
            # Lambda queues the event and answers at once; errors go to the function's log (no retries here).
            self._async.submit(self._run_event, name, region, payload)
            return _respond(202, b"", {})
        if invocation_type != "RequestResponse":
            return _error(400, "InvalidParameterValueException", f"Unsupported invocation type {invocation_type}")
        result = self._runtime.invoke(name, region, payload)
        if result is None:
            return _error(429, "TooManyRequestsException", "Rate Exceeded.",
                          {"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"})  # fmt: skip
        headers = {"X-Amz-Executed-Version": "$LATEST"}
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        if request.headers.get("X-Amz-Log-Type") == "Tail":
            tail = "\n".join(result.framed_log_lines()).encode()[-LOG_TAIL_BYTES:]
            headers["X-Amz-Log-Result"] = base64.b64encode(tail).decode()
        if len(result.payload) > MAX_SYNC_PAYLOAD:
            message = f"Response payload size exceeded maximum allowed payload size ({MAX_SYNC_PAYLOAD} bytes)."
            return _error(413, "RequestTooLargeException", message)
        return _respond(200, result.payload, headers, request_id=result.request_id)

    def _run_event(self, name: str, region: str, payload: bytes) -> None:
        try:
            self._runtime.invoke(name, region, payload)
        except Exception:
            _log.exception("asynchronous invocation of %s failed", name)

    def close(self) -> None:
        """Stop taking asynchronous invocations."""
        self._async.shutdown(wait=False, cancel_futures=True)


def _function_arn(name_or_arn: str, region: str) -> str:
    """The unqualified ARN IAM judges an Invoke of this function on."""
    if name_or_arn.startswith("arn:"):
        return ":".join(name_or_arn.split(":")[:7])
    return f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name_or_arn.split(':')[0]}"


def _respond(status: int, body: bytes, headers: dict[str, str], request_id: str | None = None) -> HttpResponse:
    # Step Functions reads x-amzn-RequestId; without it a Lambda error becomes an uncatchable States.Runtime.
    return (
        status,
        {"x-amzn-RequestId": request_id or str(uuid.uuid4()), "Content-Type": "application/json"} | headers,
        body,
    )


def _error(status: int, code: str, message: str, extra: dict[str, str] | None = None) -> HttpResponse:
    body = json.dumps({"Type": "User", "message": message, **(extra or {})}).encode()
    return _respond(status, body, {"x-amzn-ErrorType": code})
