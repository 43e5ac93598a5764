"""POST /_localaws/reset: forget every service's state, as moto's own POST /moto-api/reset does, for the instance's own
credentials only.

The trust boundary refuses /moto-api (any web page the developer opens could post to it and wipe the instance), yet a
test suite written for moto (moto's own, run as a conformance measure) resets the server before each test. This route
does the same reset behind a signature: moto's backends and model data are forgotten, the instance's administrator is
registered again (moto's IAM forgets it with the rest, and every later request is checked against IAM), every
service's journal tables are emptied (a restart must not bring back what was forgotten), and each service's reset()
hook runs, for what the local services keep beside moto.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from localaws.http import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from localaws.credentials import Credentials
    from localaws.journal import Journal
    from localaws.services.service import Service

_log = logging.getLogger(__name__)
PATH = "/_localaws/reset"


class Reset:
    """The route, and the reset it does."""

    def __init__(self, credentials: Credentials, services: Sequence[Service], journal: Journal | None = None) -> None:
        self._credentials = credentials
        self._services = services
        self._journal = journal
        self._lock = threading.Lock()  # two resets at once would interleave moto's re-initialisation

    def route(self, request: HttpRequest) -> HttpResponse | None:
        """The endpoint's route: the reset for the instance's own credentials, refused for anyone else; else None."""
        if request.path.rstrip("/") != PATH:
            return None
        if request.principal is None or not request.principal.admin:
            return _answer(403, {"message": "Only the local AWS's own credentials may reset it."})
        if request.method != "POST":
            return _answer(405, {"message": f"{request.method} is not supported: POST resets the local AWS"})
        failed = self.reset()
        if failed:
            return _answer(500, {"message": f"the reset failed in: {', '.join(failed)}; see the local AWS's log"})
        return _answer(200, {"status": "ok"})

    def reset(self) -> list[str]:
        """Forget moto's state, register the administrator again, then reset each service; return the services whose
        reset failed."""
        from moto.moto_api._internal.models import moto_api_backend

        from localaws.services.iam import principals

        with self._lock:
            moto_api_backend.reset()
            principals.register_admin(self._credentials)
            if self._journal is not None:
                tables = [name for service in self._services if service.tables for name in service.tables.names]
                self._journal.write((f"DELETE FROM {name}", [()]) for name in tables)  # noqa: S608 - schema names
                self._journal.sync()
            failed = []
            for service in self._services:
                try:
                    service.reset()
                except Exception:
                    _log.exception("the %s service's reset failed", service.name)
                    failed.append(service.name)
            return failed


def _answer(status: int, body: dict[str, str]) -> HttpResponse:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def reset_instance(endpoint: str, region: str = "us-east-1") -> None:
    """Reset the local AWS at endpoint (signed with its own credentials); LocalAwsCallError when it refuses or
    fails."""
    from localaws import client

    client.signed_call(endpoint, "POST", PATH, b"", region)
