"""The conformance harness's own parts: the expected differences file, the comparison, the results plugin (run in a
real pytest), and the local AWS plugin staying out of a run against any other server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conformance import compare, report, suite
from tests.conformance.compare import Difference, Outcome

PLUGINS = Path(__file__).with_name("plugins")
SQS = "tests/test_sqs/test_sqs.py"


def test_every_expected_difference_names_tests_of_the_suite_an_aws_page_and_a_reason() -> None:
    differences = compare.load_expected()
    assert differences
    patterns = [pattern for difference in differences for pattern in difference.tests]
    assert len(patterns) == len(set(patterns)), "a test explained twice"
    modules = {module.path for module in suite.modules()}
    assert {pattern.split("::")[0] for pattern in patterns} <= modules


def test_a_pattern_takes_star_as_any_text_and_brackets_as_themselves() -> None:
    assert compare.matches(f"{SQS}::test_x[*]", f"{SQS}::test_x[us-east-1]")
    assert compare.matches(f"{SQS}::test_x[cn-north-1-aws-cn]", f"{SQS}::test_x[cn-north-1-aws-cn]")
    assert not compare.matches(f"{SQS}::test_x[cn-north-1-aws-cn]", f"{SQS}::test_x[c]")
    assert not compare.matches(f"{SQS}::test_x", f"{SQS}::test_x_and_more")


def test_each_test_is_counted_and_sorted_by_its_outcome_on_both_servers() -> None:
    passed, failed, skipped = Outcome("passed"), Outcome("failed", "AssertionError: no"), Outcome("skipped", "docker")
    moto = {f"{SQS}::{name}": passed for name in ("ok", "differs", "explained", "stale", "only_ours_fails")}
    moto |= {f"{SQS}::both": failed, f"{SQS}::skipped": skipped, f"{SQS}::only_moto_fails": failed}
    moto |= {f"{SQS}::explained_both": failed}
    ours = {f"{SQS}::ok": passed, f"{SQS}::differs": failed, f"{SQS}::explained": failed, f"{SQS}::stale": passed}
    ours |= {f"{SQS}::both": failed, f"{SQS}::skipped": skipped, f"{SQS}::only_moto_fails": passed}
    ours |= {f"{SQS}::explained_both": failed}  # expected to differ, but moto fails it too: not stale
    explained = (f"{SQS}::explained", f"{SQS}::stale", f"{SQS}::gone", f"{SQS}::explained_both")
    expected = [Difference(explained, "https://docs.aws.amazon.com/", "")]

    found = compare.compare(moto, ours, expected)

    row = found.rows[0]
    assert (row.service, row.tests, row.passed_moto, row.passed_ours, row.expected, row.skipped) == (
        "SQS", 8, 5, 3, 1, 1
    )  # fmt: skip
    assert [(failure.test_id, failure.message) for failure in found.unexplained] == [
        (f"{SQS}::differs", "AssertionError: no"),
        (f"{SQS}::only_ours_fails", "the run ended before this test, or did not collect it"),
    ]
    assert [failure.test_id for failure in found.both] == [f"{SQS}::both", f"{SQS}::explained_both"]
    assert found.only_ours == [f"{SQS}::only_moto_fails"]
    assert (found.stale, found.unmatched) == ([f"{SQS}::stale"], [f"{SQS}::gone"])
    assert not found.ok
    text = report.render(found, "## heading")
    assert "| SQS | 8 | 5 | 3 | [1](tests/conformance/expected.toml) |" in text
    assert f"- `{SQS}::differs`: AssertionError: no" in text


def test_the_results_plugin_runs_the_chosen_tests_and_writes_each_outcome(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(
        textwrap.dedent("""\
            import pytest

            def test_passes(): pass
            def test_fails(): assert 1 == 2, "first line\\nsecond line"
            def test_skipped(): pytest.skip("no docker")
            def test_left_out(): pass
            @pytest.fixture
            def broken(): raise RuntimeError("setup broke")
            def test_setup_fails(broken): pass
        """)
    )
    (tmp_path / "test_broken.py").write_text("import not_a_module\n")
    selection = tmp_path / "selection.json"
    selection.write_text(json.dumps({"test_sample.py": {"only": [], "leave_out": ["left_out"]}}))
    results = tmp_path / "results.jsonl"
    environment = os.environ | {
        "PYTHONPATH": str(PLUGINS),
        "CONFORMANCE_RESULTS": str(results),
        "CONFORMANCE_SELECTION": str(selection),
    }
    command = [sys.executable, "-m", "pytest", "-p", "conformance_results", "-p", "no:cacheprovider", "-q"]
    command += ["--continue-on-collection-errors"]
    subprocess.run([*command, "--rootdir", str(tmp_path), str(tmp_path)], cwd=tmp_path, env=environment, timeout=120)

    outcomes = {record["id"]: record for record in map(json.loads, results.read_text().splitlines())}
    assert {test_id: record["outcome"] for test_id, record in outcomes.items()} == {
        "test_broken.py": "error",
        "test_sample.py::test_passes": "passed",
        "test_sample.py::test_fails": "failed",
        "test_sample.py::test_skipped": "skipped",
        "test_sample.py::test_setup_fails": "failed",
    }
    assert outcomes["test_sample.py::test_fails"]["message"] == "AssertionError: first line"
    assert outcomes["test_sample.py::test_setup_fails"]["message"] == "RuntimeError: setup broke"
    assert outcomes["test_broken.py"]["message"] == "ModuleNotFoundError: No module named 'not_a_module'"


def test_the_local_aws_plugin_leaves_a_run_against_another_server_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto import settings

    from tests.conformance.plugins import conformance_localaws

    monkeypatch.setattr(settings, "TEST_SERVER_MODE", True)
    monkeypatch.setenv("TEST_SERVER_MODE_ENDPOINT", "http://127.0.0.1:5000")
    monkeypatch.delenv("ORDERS_LOCAL_STATE_DIR", raising=False)
    assert conformance_localaws.local_aws_endpoint() is None  # no local AWS named
    monkeypatch.setenv("ORDERS_LOCAL_STATE_DIR", str(tmp_path))
    assert conformance_localaws.local_aws_endpoint() is None  # named, but none runs there: moto_server is the server


def test_the_reset_is_signed_by_the_real_clock_inside_a_frozen_test() -> None:
    import botocore.auth
    from freezegun import freeze_time

    from tests.conformance.plugins.conformance_localaws import real_clock_signatures

    # freezegun reads every loaded module's attributes once time is frozen; Powertools' parser models load lazily on
    # that read and cannot be built on a fake datetime, which would leave the clock frozen for the worker's other tests.
    with freeze_time("2015-01-01", ignore=["aws_lambda_powertools"]):
        assert botocore.auth.get_current_datetime().year == 2015  # as moto's frozen tests sign
        with real_clock_signatures():
            assert botocore.auth.get_current_datetime().year > 2015
        assert botocore.auth.get_current_datetime().year == 2015
