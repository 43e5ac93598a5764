"""The one endpoint: every service on one port, as LocalStack's gateway does.

A threaded HTTP/1.1 server with keep-alive (werkzeug's development server closes every connection, so each call
paid a connection and a thread). Each request first passes the trust boundary (localaws/boundary.py: its own Host,
no foreign Origin, a known signature), then goes to the first route that answers it: our Lambda Invoke API, then
moto the way `mock_aws` calls it in-process (no Flask in between), then moto's own server application for whatever
that path cannot take (S3, Lambda's control plane).
"""

from __future__ import annotations

import io
import logging
import re
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from localaws import protocol
from localaws.http import HttpRequest, HttpResponse, Route
from localaws.protocol import credential_scope

if TYPE_CHECKING:
    from localaws.boundary import Boundary

_log = logging.getLogger(__name__)
# Services whose calls moto answers through the same path as in-process clients (`mock_aws`).
_DIRECT_SERVICES = {"dynamodb", "sqs", "sns", "stepfunctions", "logs", "cloudwatch", "cloudformation", "iam", "sts"}
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class MotoRoutes:
    """moto's answers: in-process dispatch for the services above, moto's server application for the rest."""

    def __init__(self) -> None:
        from moto.moto_server import werkzeug_app

        # moto's server answers every origin's CORS preflight; no web page is to reach this endpoint.
        werkzeug_app.DISABLE_GLOBAL_CORS = True
        self._application = werkzeug_app.DomainDispatcherApplication(werkzeug_app.create_backend_app)
        self._backends: dict[str, str | None] = {}  # host -> moto backend: moto matches hundreds of patterns
        self._service_handlers: dict[str, list[tuple[re.Pattern[str], Callable[..., Any]]]] = {}

    def direct(self, request: HttpRequest) -> HttpResponse | None:
        """moto's answer as `mock_aws` gives it in-process, when the request names a service that path takes.

        The same handlers botocore's stubber calls, found once per service rather than by trying every service's
        URL patterns on every request, and given the request as the WSGI environ it is, not rebuilt through
        botocore's and werkzeug's request builders (together half of a small request's cost)."""
        from moto.core.exceptions import HTTPException
        from moto.core.request import Request

        environ = {
            "HTTP_AUTHORIZATION": request.headers.get("Authorization", ""),
            "HTTP_X_AMZ_TARGET": request.headers.get("X-Amz-Target", ""),
            "HTTP_HOST": request.headers.get("Host", ""),
            "PATH_INFO": request.path,
        }
        host = self._application.infer_service_region_host(environ, request.path)
        if host and host not in self._backends:
            self._backends[host] = self._application.get_backend_for_host(host)
        service = self._backends.get(host) if host else None
        if service not in _DIRECT_SERVICES:
            return None
        if "." not in host:  # moto names DynamoDB's host by service alone; its URL patterns want the regional name
            scope = credential_scope(request)
            host = f"{host}.{scope['region'] if scope else 'us-east-1'}.amazonaws.com"
        url = f"https://{host}{request.path}"
        for pattern, handler in self._handlers(service):
            if pattern.match(url):
                # The scheme the client used (this endpoint is plain HTTP): moto builds queue URLs from it.
                moto_request = Request(_environ(request, host, "http"))
                try:
                    status, headers, body = handler(moto_request, moto_request.raw_url, moto_request.headers)
                except HTTPException as error:
                    status, headers, body = error.code, error.get_headers(), error.get_body()
                return status, dict(headers), body.encode() if isinstance(body, str) else body or b""
        return None

    def _handlers(self, service: str) -> list[tuple[re.Pattern[str], Callable[..., Any]]]:
        """A service's URL patterns and their handlers, as botocore's stubber takes them from the backend."""
        if service not in self._service_handlers:
            from moto.backends import get_backend
            from moto.core.base_backend import BackendDict
            from moto.core.models import DEFAULT_ACCOUNT_ID

            backends = get_backend(service)  # type: ignore[call-overload]
            if isinstance(backends, BackendDict):
                regional = backends[DEFAULT_ACCOUNT_ID]
                backend = regional["us-east-1"] if "us-east-1" in regional else regional["aws"]
            else:
                backend = backends["global"]
            handlers = [(re.compile(url), handler) for url, handler in backend.urls.items()]
            self._service_handlers[service] = handlers
        return self._service_handlers[service]

    def application(self, request: HttpRequest, server: tuple[str, int]) -> HttpResponse:
        """moto's own server application, through WSGI."""
        environ = _environ(request, server[0], "http", str(server[1]))
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            answer.update(status=int(status.split()[0]), headers=headers)

        chunks: Iterable[bytes] = self._application(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()
        return answer["status"], dict(answer["headers"]), body


def _environ(request: HttpRequest, server_name: str, scheme: str, port: str = "443") -> dict[str, Any]:
    """The request as a WSGI environ, headers as moto's own server would pass them."""
    from moto.core.request import (
        PRESERVED_HEADER_NAMES_ENVIRON_KEY,
        environ_key_for_header,
        should_preserve_original_header_name,
    )

    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(request.path),
        "QUERY_STRING": request.query,
        "CONTENT_TYPE": request.headers.get("Content-Type", ""),
        "CONTENT_LENGTH": str(len(request.body)),
        "SERVER_NAME": server_name,
        "SERVER_PORT": port,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(request.body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    preserved: dict[str, str] = {}
    for name, value in request.headers.items():
        if name.lower() == "transfer-encoding":  # the body is de-chunked already
            continue
        key = environ_key_for_header(name)
        environ[key] = f"{environ[key]},{value}" if key in environ and key.startswith("HTTP_") else value
        # S3 metadata keys may hold underscores: moto reads their original spelling from here.
        if should_preserve_original_header_name(name):
            preserved.setdefault(key, name)
    environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = preserved
    return environ


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection and one thread serve a client's calls
    wbufsize = 64 * 1024  # status line, headers and body leave in one send (flushed after each request)
    # Without this a keep-alive call stalls ~40 ms on Nagle's algorithm and delayed ACKs.
    disable_nagle_algorithm = True
    server: _Server

    def _handle(self) -> None:
        body = self._body()
        path, _, query = self.path.partition("?")
        request = HttpRequest(self.command, path, query, self.headers, body)
        try:
            status, headers, content = self.server.answer(request)
        except Exception:
            _log.exception("%s %s failed", self.command, path)
            message = "The local AWS failed on this request; see its log."
            status, headers, content = protocol.error(request, 500, "InternalFailure", message)
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(content)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _handle

    def log_message(self, format: str, *args: Any) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A burst opens many connections at once; a short backlog resets some of them.
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], boundary: Boundary, routes: list[Route], moto: MotoRoutes) -> None:
        super().__init__(address, _Handler)
        self.boundary = boundary
        self.routes = routes
        self.moto = moto
        boundary.serve(*self.server_address[:2])

    def answer(self, request: HttpRequest) -> HttpResponse:
        principal, refused = self.boundary.screen(request)
        if refused is not None:
            return refused
        assert principal is not None  # screen() admits no request without one
        request = replace(request, principal=principal)
        with self.boundary.admitted(principal):
            for route in [*self.routes, self.moto.direct]:
                answer = route(request)
                if answer is not None:
                    return answer
            return self.moto.application(request, self.server_address[:2])


class Gateway:
    """The endpoint, serving on a background thread: routes first, moto for the rest."""

    def __init__(self, host: str, port: int, boundary: Boundary, routes: list[Route]) -> None:
        moto = MotoRoutes()
        # The list itself, not a copy: services add their routes to it before the endpoint serves.
        self._server = _Server((host, port), boundary, routes, moto)
        self._thread = threading.Thread(target=self._server.serve_forever, name="gateway", daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
