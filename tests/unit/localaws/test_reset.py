"""The reset route (localaws.reset) in-process: who may call it, and what a reset forgets, keeps and calls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from moto.iam.models import iam_backends

from localaws import credentials
from localaws.config import ACCOUNT_ID, REGION
from localaws.credentials import ADMIN_USER, Credentials
from localaws.http import HttpRequest
from localaws.journal import FILE_NAME, Journal, Tables
from localaws.principal import Principal
from localaws.reset import PATH, Reset
from localaws.services.iam import principals
from localaws.services.service import Service


class Noting(Service):
    """A service whose reset hook notes that it ran, and whether moto had forgotten its queues by then."""

    name = "noting"

    def __init__(self, label: str, noted: list[tuple[str, list[str]]]) -> None:
        self.label = label
        self.noted = noted

    def reset(self) -> None:
        self.noted.append((self.label, boto3.client("sqs").list_queues().get("QueueUrls", [])))


class Failing(Service):
    """A service whose reset hook fails."""

    name = "failing"

    def reset(self) -> None:
        raise RuntimeError("cannot forget")


def post(principal: Principal | None, method: str = "POST", path: str = PATH) -> HttpRequest:
    return HttpRequest(method, path, "", {}, b"", principal)


def signed_by(admin: bool) -> Principal:
    return Principal(access_key_id="AKIAEXAMPLEEXAMPLE00", admin=admin, signature="0" * 64, iam_request=None)


@pytest.fixture
def own(monkeypatch: pytest.MonkeyPatch) -> Iterator[Credentials]:
    """moto in-process, this process signing as a fresh instance's administrator."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    made = credentials.generate()
    for name, value in made.environment().items():
        monkeypatch.setenv(name, value)
    with mock_aws(config={"core": {"mock_credentials": False}}):
        principals.register_admin(made)
        yield made


def test_only_a_post_signed_with_the_instances_own_credentials_resets(own: Credentials) -> None:
    noted: list[tuple[str, list[str]]] = []
    route = Reset(own, [Noting("only", noted)]).route
    assert route(post(None, path="/elsewhere")) is None
    assert route(post(None))[0] == 403
    assert route(post(signed_by(admin=False)))[0] == 403
    assert route(post(signed_by(admin=True), method="GET"))[0] == 405
    assert noted == []
    assert route(post(signed_by(admin=True))) == (200, {"Content-Type": "application/json"}, b'{"status": "ok"}')
    assert noted == [("only", [])]


def test_a_reset_forgets_motos_state_keeps_the_administrator_and_resets_every_service(own: Credentials) -> None:
    boto3.client("sqs").create_queue(QueueName="before")
    boto3.client("iam").create_user(UserName="someone")
    noted: list[tuple[str, list[str]]] = []

    status, _, body = Reset(own, [Noting("first", noted), Failing(), Noting("last", noted)]).route(
        post(signed_by(admin=True))
    )

    assert (status, json.loads(body)) == (500, {"message": "the reset failed in: failing; see the local AWS's log"})
    assert noted == [("first", []), ("last", [])]  # each after moto forgot, in order, past a failing one
    users = iam_backends[ACCOUNT_ID]["aws"].users
    assert list(users) == [ADMIN_USER]
    assert [key.access_key_id for key in users[ADMIN_USER].access_keys] == [own.access_key_id]
    assert boto3.client("sqs").list_queues().get("QueueUrls", []) == []


class Journaling(Service):
    """A service keeping two tables in the journal."""

    name = "journaling"
    tables = Tables(
        "CREATE TABLE IF NOT EXISTS first (id TEXT PRIMARY KEY);\nCREATE TABLE IF NOT EXISTS second (id TEXT);"
    )


def test_a_reset_empties_every_services_journal_tables(own: Credentials, tmp_path: Path) -> None:
    journal = Journal(tmp_path / FILE_NAME, [Journaling.tables])
    try:
        journal.write([("INSERT INTO first VALUES (?)", [("a",)]), ("INSERT INTO second VALUES (?)", [("b",)])])
        journal.sync()

        status, _, _ = Reset(own, [Journaling()], journal).route(post(signed_by(admin=True)))

        assert status == 200
        assert journal.rows("SELECT * FROM first") + journal.rows("SELECT * FROM second") == []  # no restart revives it
    finally:
        journal.close()
