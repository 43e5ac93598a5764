"""pytest plugin for moto's tests, whichever server they run against: run only the chosen tests of each module, and
write each test's outcome, with the first line of its failure, to a JSON-lines file.

CONFORMANCE_SELECTION names a JSON file {module path: {"only": [...], "leave_out": [...]}} (fragments of test names);
CONFORMANCE_RESULTS the file the outcomes go to, one {"id", "outcome", "message"} a line: passed, failed, skipped, or
error (the module could not be collected).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, TextIO

import pytest

MESSAGE_LENGTH = 400  # a failure's first line, cut: some assertions print whole responses


def first_line(report: pytest.CollectReport | pytest.TestReport) -> str:
    """The first line of what made the report fail or skip: the exception's message, as pytest's summary shows it."""
    longrepr: Any = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (file, line, reason)
        text = str(longrepr[2])
    else:
        crash = getattr(longrepr, "reprcrash", None)
        text = crash.message if crash is not None else str(longrepr or "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # A module that cannot be imported says "ImportError while importing ...", then the error on an "E" line.
    errors = [line.removeprefix("E").strip() for line in lines if line.startswith("E ")]
    line = errors[0] if isinstance(report, pytest.CollectReport) and errors else next(iter(lines), "")
    return line[:MESSAGE_LENGTH]


class Results:
    """Each test's reports (setup, call, teardown) folded into one outcome, written once the test is done."""

    def __init__(self, out: TextIO, selection: dict[str, dict[str, list[str]]]) -> None:
        self._out = out
        self._selection = selection
        self._outcomes: dict[str, tuple[str, str]] = {}

    def chosen(self, item: pytest.Item) -> bool:
        """Whether the selection runs this test: its module is listed with no fragments, or its name has one."""
        module = item.nodeid.split("::", 1)[0]
        choice = self._selection.get(module, {})
        name = getattr(item, "originalname", None) or item.name
        only, leave_out = choice.get("only", []), choice.get("leave_out", [])
        return (not only or any(part in name for part in only)) and not any(part in name for part in leave_out)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        kept = [item for item in items if self.chosen(item)]
        dropped = [item for item in items if not self.chosen(item)]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self._write(report.nodeid, "error", first_line(report))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        outcome, message = self._outcomes.get(report.nodeid, ("passed", ""))
        if report.failed and outcome != "failed":
            outcome, message = "failed", first_line(report)
        elif report.skipped and outcome == "passed":
            outcome, message = "skipped", first_line(report)
        self._outcomes[report.nodeid] = (outcome, message)

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        outcome, message = self._outcomes.pop(nodeid, ("passed", ""))
        self._write(nodeid, outcome, message)

    def _write(self, nodeid: str, outcome: str, message: str) -> None:
        self._out.write(json.dumps({"id": nodeid, "outcome": outcome, "message": message}) + "\n")
        self._out.flush()  # what ran is on disk even if the run is killed


def pytest_configure(config: pytest.Config) -> None:
    """Register the recorder when the run names its results file."""
    results = os.environ.get("CONFORMANCE_RESULTS")
    if not results:
        return
    selection_file = os.environ.get("CONFORMANCE_SELECTION")
    selection = json.loads(Path(selection_file).read_text()) if selection_file else {}
    out = open(results, "a", encoding="utf-8")  # noqa: SIM115 - open for the whole run, closed at its end
    config.stash[_OUT] = out
    config.pluginmanager.register(Results(out, selection), "conformance-results")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Close the results file."""
    out = config.stash.get(_OUT, None)
    if out is not None:
        out.close()


_OUT = pytest.StashKey[TextIO]()
