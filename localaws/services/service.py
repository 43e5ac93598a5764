"""What every emulated service is to the local AWS, after LocalStack's service providers and their lifecycle hooks:
its corrections to moto, the journal tables it keeps, and what it does at each step of the instance's life.

The server calls the hooks of every registered service (REGISTRY in localaws/services/registry.py) in registry
order, and the stopping ones in reverse:

1. start(context): moto runs, the endpoint does not serve yet: record to the journal, subscribe to events, add
   routes, start workers.
2. restore(journal, options): the stack is deployed: put back what the journal holds; return what came back.
3. ready(): everything is restored: start what polls or acts on its own.
4. housekeep(now, options): every few seconds: keep memory bounded, publish what CloudWatch samples, evaluate.
5. quiesce(): stop taking new work (before the endpoint and the journal close).
6. stop(): release what it holds (after the journal closed: a shutdown's failures are not what a restart sees).

And, out of that order, reset(): moto's state was just forgotten (POST /_localaws/reset, as LocalStack's
on_after_state_reset): forget what the service keeps beside moto.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from localaws.chaos import Faults
    from localaws.config import LocalAwsOptions
    from localaws.credentials import Credentials
    from localaws.http import Route
    from localaws.journal import Journal, Tables
    from localaws.services.patches import Correction
    from localaws.services.recording import Recording
    from localaws.telemetry import Telemetry


@dataclass
class Context:
    """What the instance gives its services: settings, the journal, the telemetry, fault rules, and a place for the
    routes and in-process calls services offer one another."""

    options: LocalAwsOptions
    state_dir: Path
    account_id: str
    region: str
    credentials: Credentials  # the instance's own
    journal: Journal
    telemetry: Telemetry
    faults: Faults
    endpoint: str = ""  # known once the endpoint is bound: before start() is called
    routes: list[Route] = field(default_factory=list)  # answered before moto's, in the order services add them
    # In-process answers one service gives another (Lambda's Invoke for Step Functions' Task states), by name.
    offers: dict[str, Callable[..., Any]] = field(default_factory=dict)


class Service:
    """One emulated service: a package of localaws/services and a line of its registry."""

    name: ClassVar[str]
    corrections: ClassVar[tuple[Correction, ...]] = ()
    tables: ClassVar[Tables | None] = None  # what it keeps in the journal
    recording: ClassVar[Recording | None] = None  # where its corrections journal, once it starts

    def start(self, context: Context) -> None:
        """Wire itself to the running instance (the endpoint does not serve yet)."""
        if self.recording is not None:
            self.recording.to(context.journal)

    def restore(self, journal: Journal, options: LocalAwsOptions) -> dict[str, int]:
        """Put back what the journal holds for it; return what came back, counted by kind."""
        return {}

    def ready(self) -> None:
        """Start what works on its own (pollers): everything is deployed and restored."""

    def housekeep(self, now: float, options: LocalAwsOptions) -> None:
        """One pass of housekeeping at unix time now (every few seconds)."""

    def quiesce(self) -> None:
        """Stop taking new work."""

    def reset(self) -> None:
        """Forget what it keeps beside moto: moto's state was just reset (the instance keeps running)."""

    def stop(self) -> None:
        """Release what it holds."""
        if self.recording is not None:
            self.recording.to(None)
