"""The one endpoint: every service on one port, as LocalStack's gateway does; Lambda invocations go to our runtime."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import ThreadedWSGIServer


class _RequestHandler(MotoRequestHandler):
    # Without this a keep-alive call stalls ~40 ms on Nagle's algorithm and delayed ACKs.
    disable_nagle_algorithm = True

    def log_request(self, *args: Any) -> None:
        return


class _Server(ThreadedWSGIServer):
    # Step Functions opens a connection per Task under a burst; a short backlog resets some of them, and a reset
    # Lambda call is an uncatchable States.Runtime failure.
    request_queue_size = 1024


def moto_app() -> Callable[..., Iterable[bytes]]:
    """moto's own WSGI application: every service it implements, routed by request."""
    return DomainDispatcherApplication(create_backend_app)


class Gateway:
    """A threaded HTTP server for a WSGI application."""

    def __init__(self, host: str, port: int, app: Callable[..., Iterable[bytes]]) -> None:
        self._server = _Server(host, port, app, handler=_RequestHandler)
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
