"""A service's connection to the journal, the one shape every service's durability takes: what it writes goes to the
instance's journal once the service has started, and a request that changed durable state is answered only once that
is on disk."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localaws.journal import Journal
    from localaws.services.patches import Correction


class Recording:
    """Where a service journals: nowhere until `to(journal)`; writes are then queued in order, `sync()` waits for
    disk."""

    def __init__(self) -> None:
        self._journal: Journal | None = None

    def to(self, journal: Journal | None) -> None:
        """Record to journal from now on (None: stop recording)."""
        self._journal = journal

    @property
    def on(self) -> bool:
        """Whether writes are recorded."""
        return self._journal is not None

    def write(self, statements: Iterable[tuple[str, Iterable[Any]]]) -> None:
        """Queue statements (SQL, rows) for the journal, if recording."""
        if self._journal is not None:
            self._journal.write(statements)

    def sync(self) -> None:
        """Wait until everything written so far is on disk, if recording."""
        if self._journal is not None:
            self._journal.sync()

    def answers_when_recorded(self, correction: Correction, *handlers: str) -> None:
        """Declare in correction that each moto response handler ("module:Response.method") answers once what it
        recorded is on disk: one sync per request, however many items or messages it wrote."""
        for handler in handlers:
            correction.replaces(handler, params=["self"])(self._answer_synced)

    def _answer_synced(self, original: Any, response: Any) -> Any:
        answer = original(response)
        self.sync()
        return answer
