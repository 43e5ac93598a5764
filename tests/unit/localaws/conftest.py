"""The local AWS's services started in this process as its server starts them: moto, a journal in a folder, a real
Context; restart() does what a new process on that folder would."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from localaws import chaos, credentials
from localaws.config import ACCOUNT_ID, REGION, LocalAwsOptions
from localaws.journal import FILE_NAME, Journal
from localaws.services import patches
from localaws.services.patches import apply_all
from localaws.services.service import Context, Service

MOTO_CONFIG: Any = {
    "stepfunctions": {"execute_state_machine": True},
    "core": {"passthrough": {"services": ["lambda"], "urls": []}},
}


class NotedTelemetry:
    """What services report to the telemetry, noted (the real one buffers it for CloudWatch)."""

    def __init__(self) -> None:
        self.samples: list[tuple[Any, ...]] = []  # metric(): (namespace, name, value, unit, dimensions, at)
        self.calls: list[tuple[Any, ...]] = []  # executions started and finished

    def metric(self, namespace: str, name: str, value: float, unit: str, dimensions: dict[str, str], at: float) -> None:
        self.samples.append((namespace, name, value, unit, dimensions, at))

    def record_execution_started(self, state_machine_arn: str, at: float) -> None:
        self.calls.append(("started", state_machine_arn, at))

    def record_execution_finished(self, state_machine_arn: str, status: str, started: float, stopped: float) -> None:
        self.calls.append(("finished", state_machine_arn, status, started, stopped))


class Instance:
    """Services of the local AWS on moto and a journal in a folder; deploy() makes what the stack would make."""

    def __init__(self, folder: Path, services: Sequence[Service], deploy: Callable[[], None] = lambda: None) -> None:
        self.folder = folder
        self.path = folder / FILE_NAME
        self.services = services
        self.deploy = deploy
        self.options = LocalAwsOptions()
        self.telemetry = NotedTelemetry()
        self.offers: dict[str, Callable[..., Any]] = {}
        self.journal: Journal
        self._mock: Any = None
        apply_all(correction for service in services for correction in service.corrections)

    @property
    def service(self) -> Service:
        """The one service started, when only one is."""
        (only,) = self.services
        return only

    def start(self) -> dict[str, int]:
        """Start moto and the services, deploy, and restore; return what came back."""
        self._mock = mock_aws(config=MOTO_CONFIG)
        self._mock.start()
        self.journal = Journal(self.path, [service.tables for service in self.services if service.tables])
        context = Context(
            options=self.options, state_dir=self.folder, account_id=ACCOUNT_ID, region=REGION,
            credentials=credentials.generate(), journal=self.journal, telemetry=self.telemetry,  # type: ignore[arg-type]
            faults=chaos.Faults(), offers=self.offers,
        )  # fmt: skip
        for service in self.services:
            service.start(context)
        self.deploy()
        restored: dict[str, int] = {}
        for service in self.services:
            restored |= service.restore(self.journal, self.options)
        return restored

    def stop(self) -> None:
        """Stop as the server does: intake, the journal (a shutdown's failures are not recorded), then the rest."""
        for service in reversed(self.services):
            service.quiesce()
        self.journal.close()
        for service in reversed(self.services):
            service.stop()
        self._mock.stop()

    def restart(self) -> dict[str, int]:
        """What a new process on the same folder does; return what came back."""
        self.stop()
        return self.start()

    def on_disk(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """What another process reading the journal file sees now."""
        with sqlite3.connect(self.path) as reader:
            return reader.execute(sql, params).fetchall()


@pytest.fixture
def started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Instance]]:
    """start(services, deploy) -> a running Instance in the test's folder, stopped after the test."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("ORDERS_LOCAL_STATE_DIR", str(tmp_path))
    running: list[Instance] = []

    def start(services: Sequence[Service], deploy: Callable[[], None] = lambda: None) -> Instance:
        instance = Instance(tmp_path, services, deploy)
        instance.start()
        running.append(instance)
        return instance

    yield start
    for instance in running:
        instance.stop()


def made_by(value: Any) -> list[str]:
    """The corrections whose replacements value is, outermost first."""
    names = []
    function = patches._unwrap(value)  # the function inside a property, classmethod or staticmethod
    while (name := getattr(function, patches.MARK, None)) is not None:
        names.append(name)
        function = getattr(function, "__wrapped__", None)
    return names


def current(target: str) -> Any:
    """What a correction's target ("module:Class.attribute") holds now."""
    owner, attribute = patches._owner(target)
    return patches._raw(owner, attribute)


def assert_applied_once(corrections: Sequence[patches.Correction]) -> None:
    """Applying the corrections again changes nothing, and each is in the chain of each moto target once."""
    targets = {c.name: [t for t in c.targets if t.startswith("moto.")] for c in corrections}
    before = {target: current(target) for each in targets.values() for target in each}
    apply_all(corrections)
    apply_all(corrections)
    assert {target: current(target) for target in before} == before
    for name, each in targets.items():
        for target in each:
            assert made_by(current(target)).count(name) == 1, (target, made_by(current(target)))
