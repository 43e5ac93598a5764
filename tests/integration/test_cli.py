"""The command line as a script uses it: output, and exit codes it can rely on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT_ROOT, local_env_shell, poll


def cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend", *args],
        cwd=PROJECT_ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_with_only_the_stack_name_and_the_endpoint_orders_reach_their_outcomes(local_aws: Any) -> None:
    environment = local_env_shell()
    assert environment["AWS_ENDPOINT_URL"] == local_aws.endpoint
    assert environment["ORDERS_STACK_NAME"] == local_aws.stack_name
    run = cli("submit", "--count", "6", "--seed", "8", "--wait", "--json", "--timeout", "90", env=environment)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["not_finished"] == []
    assert sum(summary["outcomes"].values()) == 6
    assert summary["unexpected_outcomes"] == []


def test_submit_wait_json_reports_every_order_finished_as_the_rules_say(local_aws: Any) -> None:
    run = cli("submit", "--count", "8", "--seed", "5", "--wait", "--json", "--timeout", "90")
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["submitted"] == 8
    assert sum(summary["outcomes"].values()) == 8
    assert summary["not_finished"] == []
    assert summary["unexpected_outcomes"] == []
    assert summary["latency_ms"]["p50"] <= summary["latency_ms"]["p99"]


def test_submit_prints_ids_and_status_shows_the_timeline(local_aws: Any) -> None:
    order = {
        "customer_name": "Ada",
        "customer_email": "ada@example.com",
        "lines": [{"sku": "MUG-CERAMIC", "quantity": 1}],
    }
    submitted = cli("submit", "--file", "-", "--json", stdin=json.dumps(order))
    assert submitted.returncode == 0, submitted.stderr
    (order_id,) = json.loads(submitted.stdout)["order_ids"]
    # Exit 3 while the order is still queued; poll until its execution exists.
    status = poll(lambda: (run := cli("status", order_id, "--json")).returncode == 0 and run, what="the order")
    detail = json.loads(status.stdout)
    assert detail["order_id"] == order_id
    assert detail["outcome"] in {"RUNNING", "SUCCEEDED"}
    assert detail["timeline"][0]["name"] == "ValidateOrder"
    listed = cli("orders", "--limit", "50", "--json")
    assert order_id in [row["order_id"] for row in json.loads(listed.stdout)]


def test_an_unknown_order_exits_3_and_a_malformed_id_2(local_aws: Any) -> None:
    from lambdas.domain.order import new_order_id

    order_id = new_order_id()
    run = cli("status", order_id)
    assert run.returncode == 3
    assert run.stdout.startswith(f"Unknown order id {order_id}: it has no workflow execution, is not queued")
    malformed = cli("status", "ord_doesnotexist")
    assert malformed.returncode == 2
    assert "An order id must be 'ord_' and a 26-character lower-case ULID" in malformed.stderr
    assert "Traceback" not in run.stderr + malformed.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"customer_name": "", "customer_email": "nope", "lines": []}', "customer_email: must look like"),
        (
            '[{"customer_name": "A", "customer_email": "a@b.co", "lines": [{"sku": "X", "quantity": 1}]}]',
            "unknown product 'X'",
        ),
        ("{not json", "cannot read orders"),
    ],
)
def test_bad_order_files_exit_2_and_say_what_is_wrong(
    local_aws: Any, tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "orders.json"
    path.write_text(content)
    before = _visible_messages()
    run = cli("submit", "--file", str(path))
    assert run.returncode == 2
    assert expected in run.stderr
    assert "Traceback" not in run.stderr
    assert _visible_messages() <= before  # nothing was queued


_ORDER = {"customer_name": "Ada", "customer_email": "ada@example.com", "lines": [{"sku": "MUG-CERAMIC", "quantity": 1}]}
_LINE = {"sku": "MUG-CERAMIC", "quantity": 1}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            json.dumps(_ORDER | {"lines": [_LINE | {"quantity": True}]}),
            "lines.0.quantity: must be an integer, not a boolean",
        ),
        (
            json.dumps(_ORDER | {"lines": [_LINE | {"quantity": "3"}]}),
            "lines.0.quantity: must be an integer, not a string",
        ),
        (json.dumps(_ORDER | {"lines": [_LINE | {"quantity": 3.5}]}), "lines.0.quantity: must be an integer"),
        (json.dumps(_ORDER | {"customer_name": "Ada\u202eecilA"}), "customer_name: must not contain bidirectional"),
        (json.dumps(_ORDER | {"customer_name": "\u200b\u200b"}), "customer_name: must contain a visible character"),
        (json.dumps(_ORDER | {"customer_name": "Ada\u0007"}), "customer_name: must not contain control characters"),
        (json.dumps(_ORDER | {"payment_method": 4242424242424242}), "payment_method: must be one of"),
        (json.dumps(_ORDER | {"customer_email": ["ada@example.com"]}), "customer_email: must be a string, not a list"),
        (json.dumps(_ORDER | {"coupon": "FREE"}), "coupon: is not a known field"),
        (json.dumps([_ORDER, 3]), "order 2: order: must be an object, not a number"),
        ("[" * 100_000 + "]" * 100_000, "file: must not nest more than 8 levels deep"),
        (json.dumps([_ORDER] * 10_001), "orders: must be 1 to 10,000 at once, not 10,001"),
        (json.dumps([[[[[[[[[_ORDER]]]]]]]]]), "file: must not nest more than 8 levels deep"),
        ("[]", "orders: must be 1 to 10,000 at once, not 0"),
        ('{"customer_name": "Ada", ', "file: is not valid JSON"),
        ("\ufeff", "file: is not valid JSON"),  # a byte order mark is allowed, and then the file is empty
    ],
    ids=lambda value: value[:40] if isinstance(value, str) else None,
)
def test_hostile_order_files_exit_2_name_the_field_and_queue_nothing(
    local_aws: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    from backend.cli import main

    path = tmp_path / "orders.json"
    path.write_text(content)
    before = _visible_messages()
    code = main(["submit", "--file", str(path)])  # in-process: the same main() as the command, without its start-up
    stderr = capsys.readouterr().err
    assert code == 2, stderr
    assert expected in stderr
    assert len(stderr) < 2_000  # the input is never echoed back
    assert _visible_messages() <= before


def test_a_hostile_file_ends_the_command_with_a_reason_not_a_traceback(local_aws: Any, tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    run = cli("submit", "--file", str(path))
    assert (run.returncode, run.stdout) == (2, "")
    assert "file: must not nest more than 8 levels deep" in run.stderr
    assert "Traceback" not in run.stderr


def test_an_oversized_file_is_not_read_whole(local_aws: Any, tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    with path.open("wb") as file:
        file.truncate(2 * 1024**3)  # 2 GiB of zeros, sparse: reading it whole would take seconds and memory
    run = cli("submit", "--file", str(path))
    assert (run.returncode, run.stdout) == (2, "")
    assert "file: must be at most 8,388,608 bytes" in run.stderr


@pytest.mark.parametrize("args", [("submit", "--count", "0"), ("submit",), ("status",), ("frobnicate",)])
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    run = cli(*args)
    assert run.returncode == 2
    assert "usage:" in run.stderr


def _visible_messages() -> int:
    import backend

    return backend.queue_depth()["visible"]
