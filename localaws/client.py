"""Calls to the local AWS's own routes (its chaos rules), signed with its credentials as an SDK signs a request."""

from __future__ import annotations

import urllib.error
import urllib.request

from localaws.credentials import Credentials

SERVICE = "localaws"  # the signing name of the local AWS's own routes


class LocalAwsCallError(RuntimeError):
    """The local AWS refused or failed a call to one of its own routes."""


def signed_call(
    endpoint: str,
    method: str,
    path: str,
    body: bytes = b"",
    region: str = "us-east-1",
    credentials: Credentials | None = None,
) -> bytes:
    """The body of the answer to a SigV4-signed request; LocalAwsCallError with the answer on an HTTP error."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as SigningCredentials

    from localaws import instance

    own = credentials or instance.credentials()
    if not endpoint.startswith("http://"):
        raise LocalAwsCallError(f"{endpoint} is not the local AWS's http:// endpoint")
    request = AWSRequest(method, f"{endpoint}{path}", data=body, headers={"Content-Type": "application/json"})
    signing = SigningCredentials(own.access_key_id, own.secret_access_key, own.session_token)
    SigV4Auth(signing, SERVICE, region).add_auth(request)
    prepared = request.prepare()
    outgoing = urllib.request.Request(prepared.url, body or None, dict(prepared.headers), method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(outgoing, timeout=30) as answer:  # noqa: S310 - http:// only, checked above
            return answer.read()
    except urllib.error.HTTPError as exc:
        raise LocalAwsCallError(f"{method} {path}: HTTP {exc.code}: {exc.read().decode(errors='replace')}") from exc
