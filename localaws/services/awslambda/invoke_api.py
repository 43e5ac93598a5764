"""Lambda's Invoke API on the one endpoint: RequestResponse, Event and DryRun, with AWS's errors and headers.

The rest of the Lambda API (ListFunctions, GetFunction, event-source mappings, ...) is moto's; only invocation is
ours, because moto runs functions in Docker.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, unquote

from localaws.services.awslambda.runtime import FunctionNotFound, LambdaRuntime

_log = logging.getLogger(__name__)
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024  # Lambda's request and response limit for synchronous invocations
MAX_ASYNC_PAYLOAD = 1024 * 1024
LOG_TAIL_BYTES = 4096
_INVOKE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
_UNSUPPORTED = re.compile(r"^/2021-11-15/functions/[^/]+/response-streaming-invocations/?$|^/2014-11-13/functions/")
_CREDENTIAL_REGION = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[a-z0-9-]+)/")

StartResponse = Callable[..., Any]


class InvokeApi:
    """A WSGI layer in front of moto: answers invocations, passes everything else on."""

    def __init__(self, runtime: LambdaRuntime, default_region: str, moto_app: Callable[..., Iterable[bytes]]) -> None:
        self._runtime = runtime
        self._default_region = default_region
        self._moto_app = moto_app
        self._async = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lambda-event")

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        match = _INVOKE.match(path)
        if match and environ.get("REQUEST_METHOD") == "POST":
            return self._invoke(environ, start_response, unquote(match["name"]))
        if _UNSUPPORTED.match(path):
            return _error(
                start_response,
                400,
                "InvalidRequestContentException",
                "The local AWS supports Invoke only (no InvokeAsync or response streaming).",
            )
        return self._moto_app(environ, start_response)

    def _region(self, environ: dict[str, Any]) -> str:
        found = _CREDENTIAL_REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
        return found["region"] if found else self._default_region

    def _invoke(self, environ: dict[str, Any], start_response: StartResponse, name: str) -> Iterable[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if query.get("Qualifier", ["$LATEST"])[0] != "$LATEST":
            name = f"{name}:{query['Qualifier'][0]}"
        invocation_type = environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        limit = MAX_ASYNC_PAYLOAD if invocation_type == "Event" else MAX_SYNC_PAYLOAD
        if length > limit:
            return _error(
                start_response,
                413,
                "RequestTooLargeException",
                f"Request must be smaller than {limit} bytes for the {invocation_type} invocation type",
            )
        payload = environ["wsgi.input"].read(length) if length else b""
        try:
            json.loads(payload or b"{}")
        except ValueError:
            return _error(
                start_response,
                400,
                "InvalidRequestContentException",
                "Could not parse request body into json: the payload is not valid JSON",
            )
        region = self._region(environ)
        try:
            self._runtime.function(name, region)
        except FunctionNotFound:
            arn_hint = name if name.startswith("arn:") else f"function {name}"
            return _error(start_response, 404, "ResourceNotFoundException", f"Function not found: {arn_hint}")
        if invocation_type == "DryRun":
            return _respond(start_response, 204, b"", {})
        if invocation_type == "Event":
            # Lambda queues the event and answers at once; errors go to the function's log (no retries here).
            self._async.submit(self._run_event, name, region, payload)
            return _respond(start_response, 202, b"", {})
        if invocation_type != "RequestResponse":
            return _error(
                start_response, 400, "InvalidParameterValueException", f"Unsupported invocation type {invocation_type}"
            )
        result = self._runtime.invoke(name, region, payload)
        if result is None:
            return _error(
                start_response,
                429,
                "TooManyRequestsException",
                "Rate Exceeded.",
                {"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"},
            )
        headers = {"X-Amz-Executed-Version": "$LATEST"}
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        if environ.get("HTTP_X_AMZ_LOG_TYPE") == "Tail":
            tail = "\n".join(result.framed_log_lines()).encode()[-LOG_TAIL_BYTES:]
            headers["X-Amz-Log-Result"] = base64.b64encode(tail).decode()
        if len(result.payload) > MAX_SYNC_PAYLOAD:
            return _error(
                start_response,
                413,
                "RequestTooLargeException",
                f"Response payload size exceeded maximum allowed payload size ({MAX_SYNC_PAYLOAD} bytes).",
            )
        return _respond(start_response, 200, result.payload, headers, request_id=result.request_id)

    def _run_event(self, name: str, region: str, payload: bytes) -> None:
        try:
            self._runtime.invoke(name, region, payload)
        except Exception:
            _log.exception("asynchronous invocation of %s failed", name)

    def close(self) -> None:
        """Stop taking asynchronous invocations."""
        self._async.shutdown(wait=False, cancel_futures=True)


def _respond(
    start_response: StartResponse, status: int, body: bytes, headers: dict[str, str], request_id: str | None = None
) -> list[bytes]:
    reasons = {
        200: "OK",
        202: "Accepted",
        204: "No Content",
        400: "Bad Request",
        404: "Not Found",
        413: "Request Entity Too Large",
        429: "Too Many Requests",
    }
    start_response(
        f"{status} {reasons[status]}",
        [
            # Step Functions reads this header; without it a Lambda error becomes an uncatchable States.Runtime.
            ("x-amzn-RequestId", request_id or str(uuid.uuid4())),
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            *headers.items(),
        ],
    )
    return [body]


def _error(
    start_response: StartResponse, status: int, code: str, message: str, extra: dict[str, str] | None = None
) -> list[bytes]:
    body = json.dumps({"Type": "User", "message": message, **(extra or {})}).encode()
    return _respond(start_response, status, body, {"x-amzn-ErrorType": code})
