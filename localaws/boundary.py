"""The endpoint's trust boundary: only this instance's own clients get in, and only with signed requests.

Every web page the developer opens can reach a loopback port, so every request passes, in this order:
1. its Host is the address and port the endpoint serves (a DNS-rebinding page sends its own host name);
2. it carries no Origin, or one that is configured (browsers send an Origin; AWS's SDKs and CLI do not);
3. it is not for moto's own API (/moto-api: reset, state, ...), which the local AWS does not serve;
4. it is signed (SigV4) with credentials this instance knows: its own (credentials.json), a function's execution
   role's, or an access key created through its IAM API. moto's IAM access control verifies the signature (botocore's
   signer computes the expected one), and it is refused as AWS refuses it, in the request's protocol.
What a signed principal may do is then IAM's question: moto's access control evaluates its policies on moto's
routes, and `Principal.allows` does on the routes answered here (Lambda's Invoke).
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

from localaws import protocol
from localaws.config import ACCOUNT_ID
from localaws.http import HttpRequest, HttpResponse
from localaws.principal import Principal
from localaws.protocol import Protocol
from localaws.services.iam.fixes import signature_checked

_log = logging.getLogger(__name__)
MAX_CLOCK_SKEW = datetime.timedelta(minutes=15)  # AWS refuses a signature dated further from its clock
_MOTO_API = "/moto-api"
_LOOPBACK_NAMES = {"localhost"}

# AWS's codes and statuses for a refused signature, by protocol: (JSON, REST-JSON, query, REST-XML).
_REFUSALS: dict[str, dict[Protocol, tuple[int, str]]] = {
    "missing": {
        Protocol.JSON: (403, "MissingAuthenticationTokenException"),
        Protocol.REST_JSON: (403, "MissingAuthenticationTokenException"),
        Protocol.QUERY: (403, "MissingAuthenticationToken"),
        Protocol.REST_XML: (403, "AccessDenied"),
    },
    "unknown key": {
        Protocol.JSON: (400, "UnrecognizedClientException"),
        Protocol.REST_JSON: (403, "UnrecognizedClientException"),
        Protocol.QUERY: (403, "InvalidClientTokenId"),
        Protocol.REST_XML: (403, "InvalidAccessKeyId"),
    },
    "signature": {
        Protocol.JSON: (400, "InvalidSignatureException"),
        Protocol.REST_JSON: (403, "InvalidSignatureException"),
        Protocol.QUERY: (403, "SignatureDoesNotMatch"),
        Protocol.REST_XML: (403, "SignatureDoesNotMatch"),
    },
    "expired": {
        Protocol.JSON: (400, "InvalidSignatureException"),
        Protocol.REST_JSON: (403, "InvalidSignatureException"),
        Protocol.QUERY: (403, "SignatureDoesNotMatch"),
        Protocol.REST_XML: (403, "RequestTimeTooSkewed"),
    },
    "denied": {
        Protocol.JSON: (400, "AccessDeniedException"),
        Protocol.REST_JSON: (403, "AccessDeniedException"),
        Protocol.QUERY: (403, "AccessDenied"),
        Protocol.REST_XML: (403, "AccessDenied"),
    },
}
_MESSAGES = {
    "missing": "Request is missing Authentication Token",
    "unknown key": "The security token included in the request is invalid.",
    "signature": (
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access "
        "Key and signing method. Consult the service documentation for details."
    ),
}
# moto's codes for what its access control refused, read as the kinds above.
_MOTO_CODES = {
    "InvalidClientTokenId": "unknown key",
    "InvalidAccessKeyId": "unknown key",
    "InvalidToken": "unknown key",
    "SignatureDoesNotMatch": "signature",
}


def refusal(request: HttpRequest, kind: str, message: str | None = None) -> HttpResponse:
    """AWS's answer to a request refused for the given kind of reason, in the request's protocol."""
    status, code = _REFUSALS[kind][protocol.protocol_of(request)]
    return protocol.error(request, status, code, message or _MESSAGES[kind])


def denied(request: HttpRequest, principal: Principal, action: str, resource: str) -> HttpResponse:
    """AWS's access-denied answer for an action the principal's policies do not allow."""
    message = (
        f"User: {principal.arn} is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action"
    )
    return refusal(request, "denied", message)


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _host_and_port(value: str) -> tuple[str, int | None]:
    try:
        parts = urlsplit(f"//{value}")
        return (parts.hostname or "").lower(), parts.port
    except ValueError:
        return "", None


class Boundary:
    """What the endpoint lets in: its own Host, no foreign Origin, no moto API, a known signature."""

    def __init__(self, allowed_origins: Iterable[str], admin_key_id: str) -> None:
        self._allowed_origins = {origin.rstrip("/").lower() for origin in allowed_origins}
        self._admin_key_id = admin_key_id
        self._address = ""
        self._port = 0

    def serve(self, address: str, port: int) -> None:
        """The address and port the endpoint listens on (known once it is bound)."""
        self._address, self._port = address, port

    def _host_allowed(self, value: str) -> bool:
        """The Host is the served address and port: by its IP literal (any, when bound to every interface), or by
        the name "localhost" when that reaches it. A name that resolves here by DNS (rebinding) is refused."""
        host, port = _host_and_port(value)
        if port != self._port or not host:
            return False
        served = ipaddress.ip_address(self._address)
        if host in _LOOPBACK_NAMES:
            return served.is_loopback or served.is_unspecified
        if not _ip_literal(host):
            return False
        return served.is_unspecified or ipaddress.ip_address(host) == served

    def admitted(self, principal: Principal) -> contextlib.AbstractContextManager[None]:
        """While a request is answered: its signature is verified (moto's access control need not verify it again)."""
        return signature_checked(principal.signature)

    def screen(self, request: HttpRequest) -> tuple[Principal | None, HttpResponse | None]:
        """Who signed the request, or the answer that refuses it."""
        host = request.headers.get("Host", "")
        if not self._host_allowed(host):
            return None, protocol.error(
                request, 403, "AccessDeniedException",
                f"Host {host!r} is not the address this local AWS serves ({self._address}:{self._port}).",
            )  # fmt: skip
        origin = request.headers.get("Origin")
        if origin is not None and origin.rstrip("/").lower() not in self._allowed_origins:
            return None, protocol.error(
                request, 403, "AccessDeniedException",
                f"Requests from web pages (Origin {origin}) are refused; ORDERS_LOCAL_ALLOWED_ORIGINS lists those "
                "allowed.",
            )  # fmt: skip
        if request.path == _MOTO_API or request.path.startswith(_MOTO_API + "/"):
            return None, protocol.error(request, 403, "AccessDeniedException", "moto's own API is not served here.")
        return self.authenticate(request)

    def authenticate(self, request: HttpRequest) -> tuple[Principal | None, HttpResponse | None]:
        """The principal whose credentials signed the request, or AWS's answer for a missing or wrong signature."""
        authorization = request.headers.get("Authorization", "")
        scope = protocol.credential_scope(request)
        if not authorization.startswith("AWS4-HMAC-SHA256 ") or scope is None or "Signature=" not in authorization:
            return None, refusal(request, "missing")
        expired = _expired(request.headers.get("X-Amz-Date", ""))
        if expired:
            return None, refusal(request, "expired", expired)
        from moto.core.exceptions import HTTPException, ServiceException
        from moto.iam.access_control import IAMRequest, S3IAMRequest

        request_class = S3IAMRequest if scope["service"] == "s3" else IAMRequest
        path = request.path + (f"?{request.query}" if request.query else "")
        try:
            iam_request = request_class(
                account_id=ACCOUNT_ID, method=request.method, path=path, data={}, body=request.body,
                headers=request.headers, action="",
            )  # fmt: skip
            iam_request.check_signature()
        except (HTTPException, ServiceException) as exc:
            code = getattr(exc, "error_type", None) or getattr(exc, "code", "")
            return None, refusal(request, _MOTO_CODES.get(str(code), "signature"))
        key_id = iam_request._access_key._access_key_id
        signature = authorization.rpartition("Signature=")[2].split(",")[0].strip()
        admin = key_id == self._admin_key_id
        return Principal(access_key_id=key_id, admin=admin, signature=signature, iam_request=iam_request), None


def _expired(amz_date: str) -> str | None:
    """Why a signature's date is refused (unreadable, or further than 15 minutes from now), or None."""
    try:
        signed = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        return f"The request's X-Amz-Date {amz_date!r} is not a date in the form 20261207T123456Z."
    now = datetime.datetime.now(datetime.UTC)
    if abs(now - signed) <= MAX_CLOCK_SKEW:
        return None
    return (
        f"Signature expired: {amz_date} is now earlier than {(now - MAX_CLOCK_SKEW):%Y%m%dT%H%M%SZ} "
        f"({now:%Y%m%dT%H%M%SZ} - 15 min.)"
        if signed < now
        else f"Signature not yet current: {amz_date} is still later than {(now + MAX_CLOCK_SKEW):%Y%m%dT%H%M%SZ} "
        f"({now:%Y%m%dT%H%M%SZ} + 15 min.)"
    )
