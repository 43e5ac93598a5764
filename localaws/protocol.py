"""Errors as each AWS protocol carries them, so an SDK or the CLI raises them by their code.

Four wire protocols serve the services here: JSON (X-Amz-Target; DynamoDB, SQS, Step Functions, Logs, CloudWatch),
REST-JSON (Lambda), query (form-encoded Action=; SNS, CloudFormation, IAM, STS) and REST-XML (S3).
"""

from __future__ import annotations

import json
import re
import uuid
from enum import StrEnum
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from localaws.http import HttpRequest, HttpResponse

_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9-]+)/")
_QUERY_SERVICES = {"sns", "cloudformation", "iam", "sts", "monitoring"}


class Protocol(StrEnum):
    """How a service's requests and answers are written."""

    JSON = "json"
    REST_JSON = "rest-json"
    QUERY = "query"
    REST_XML = "rest-xml"


def credential_scope(request: HttpRequest) -> re.Match[str] | None:
    """The SigV4 credential scope a request was signed with (groups "region" and "service"), if it was signed."""
    return _CREDENTIAL_SCOPE.search(request.headers.get("Authorization", ""))


def protocol_of(request: HttpRequest) -> Protocol:
    """The protocol a request speaks, from its headers, body and signing scope."""
    if request.headers.get("X-Amz-Target"):
        return Protocol.JSON
    scope = credential_scope(request)
    service = scope["service"] if scope else ""
    own_or_lambda = request.path.startswith(("/20", "/_localaws/"))  # Lambda's REST API and our own routes: JSON
    # S3, unsigned too: every other REST API here is Lambda's or ours, and the rest are POSTs.
    if service == "s3" or (not scope and request.method != "POST" and not own_or_lambda):
        return Protocol.REST_XML
    content_type = request.headers.get("Content-Type", "")
    if "x-www-form-urlencoded" in content_type or "Action=" in request.query or service in _QUERY_SERVICES:
        return Protocol.QUERY
    return Protocol.REST_JSON if service == "lambda" or own_or_lambda else Protocol.JSON


def error(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    """An AWS error answer in the request's protocol."""
    return error_in(protocol_of(request), status, code, message)


def error_in(protocol: Protocol, status: int, code: str, message: str) -> HttpResponse:
    """An AWS error answer in the given protocol."""
    request_id = str(uuid.uuid4())
    headers = {"x-amzn-RequestId": request_id, "x-amzn-ErrorType": code}
    if protocol is Protocol.JSON:
        body = json.dumps({"__type": code, "message": message}).encode()
        return status, headers | {"Content-Type": "application/x-amz-json-1.0"}, body
    if protocol is Protocol.REST_JSON:
        body = json.dumps({"Type": "User", "message": message}).encode()
        return status, headers | {"Content-Type": "application/json"}, body
    if protocol is Protocol.REST_XML:
        xml = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{escape(code)}</Code>'
            f"<Message>{escape(message)}</Message><RequestId>{request_id}</RequestId></Error>"
        )
        return status, {"x-amz-request-id": request_id, "Content-Type": "application/xml"}, xml.encode()
    kind = "Sender" if status < 500 else "Receiver"
    xml = (
        f"<ErrorResponse><Error><Type>{kind}</Type><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return status, headers | {"Content-Type": "text/xml"}, xml.encode()
