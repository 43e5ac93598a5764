"""One run's outcomes on plain moto and on the local AWS, compared test by test against the expected differences."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.conformance import suite

EXPECTED_FILE = Path(__file__).with_name("expected.toml")
PASSED = "passed"
SKIPPED = "skipped"
NOT_RUN = "not run"  # the run ended (crashed, timed out) before the test, or never collected it


@dataclass(frozen=True)
class Outcome:
    """How one test ended on one server, and the first line of its failure."""

    outcome: str  # passed, failed, skipped, error (its module could not be collected), not run
    message: str = ""


@dataclass(frozen=True)
class Difference:
    """Tests that pass on moto and fail on the local AWS because the local AWS answers as AWS does."""

    tests: tuple[str, ...]  # test ids; "*" stands for any text ("...::test_x[*]": every parameter)
    docs: str  # the AWS documentation page that says what AWS does
    why: str  # one sentence: why the local AWS is right

    def covers(self, test_id: str) -> bool:
        return any(matches(pattern, test_id) for pattern in self.tests)


def matches(pattern: str, test_id: str) -> bool:
    """Whether the test id is the pattern, "*" standing for any text (brackets are the ids' own, not wildcards)."""
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), test_id) is not None


def load_expected(path: Path = EXPECTED_FILE) -> list[Difference]:
    """The expected differences; ValueError names an entry without tests, an AWS documentation URL or a reason."""
    entries = tomllib.loads(path.read_text())["difference"]
    differences = []
    for number, entry in enumerate(entries, 1):
        tests = entry.get("tests") or []
        docs, why = str(entry.get("docs", "")), str(entry.get("why", "")).strip()
        if not tests or not all(isinstance(test, str) and "::" in test for test in tests):
            raise ValueError(f"{path.name}: difference {number} names no test ids (module path::test name)")
        if not docs.startswith("https://docs.aws.amazon.com/"):
            raise ValueError(f"{path.name}: difference {number} ({tests[0]}) has no AWS documentation URL")
        if not why:
            raise ValueError(f"{path.name}: difference {number} ({tests[0]}) does not say why the local AWS is right")
        differences.append(Difference(tuple(tests), docs, why))
    return differences


def load_outcomes(path: Path) -> dict[str, Outcome]:
    """The outcomes the results plugin wrote (tests/conformance/plugins/conformance_results.py); none if no file."""
    if not path.is_file():
        return {}
    outcomes = {}
    for line in path.read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            outcomes[record["id"]] = Outcome(record["outcome"], record.get("message", ""))
    return outcomes


@dataclass
class Row:
    """One service's counts."""

    service: str
    tests: int = 0
    passed_moto: int = 0
    passed_ours: int = 0
    expected: int = 0  # passing on moto, failing on ours, explained in expected.toml
    skipped: int = 0  # skipped on both (Docker, or moto's own choice in server mode)


@dataclass(frozen=True)
class Failure:
    """A test that failed on a server, with the first line of why."""

    test_id: str
    service: str
    message: str


@dataclass
class Comparison:
    """What the run found."""

    rows: list[Row]
    unexplained: list[Failure] = field(default_factory=list)  # pass on moto, fail on ours, not expected: fatal
    both: list[Failure] = field(default_factory=list)  # fail on both: the harness's (host names, S3 URLs) or moto's
    only_ours: list[str] = field(default_factory=list)  # pass on ours, fail on moto
    stale: list[str] = field(default_factory=list)  # expected to differ, but passes on ours
    unmatched: list[str] = field(default_factory=list)  # expected.toml's test ids or patterns that name no test run
    explained: list[tuple[Failure, Difference]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No test passes on moto and fails on ours without an expected difference explaining it."""
        return not self.unexplained


def compare(
    moto: Mapping[str, Outcome], ours: Mapping[str, Outcome], expected: Iterable[Difference] = ()
) -> Comparison:
    """Each test's outcome on moto beside its outcome on ours, by service (in the suite's order)."""
    differences = list(expected)
    rows = {service: Row(service) for service in suite.SERVICES}
    comparison = Comparison(list(rows.values()))
    missing = Outcome(NOT_RUN, "the run ended before this test, or did not collect it")
    for test_id in sorted(set(moto) | set(ours)):
        service = suite.service_of(test_id)
        on_moto, on_ours = moto.get(test_id, missing), ours.get(test_id, missing)
        row = rows[service]
        if on_moto.outcome == SKIPPED and on_ours.outcome == SKIPPED:
            row.skipped += 1
            continue
        row.tests += 1
        row.passed_moto += on_moto.outcome == PASSED
        row.passed_ours += on_ours.outcome == PASSED
        explanation = next((difference for difference in differences if difference.covers(test_id)), None)
        if on_moto.outcome == PASSED and on_ours.outcome != PASSED:
            failure = Failure(test_id, service, on_ours.message or on_ours.outcome)
            if explanation is not None:
                row.expected += 1
                comparison.explained.append((failure, explanation))
            else:
                comparison.unexplained.append(failure)
            continue
        if explanation is not None and on_ours.outcome == PASSED:
            comparison.stale.append(test_id)  # failing on both says nothing of the difference: not stale
        if on_moto.outcome != PASSED and on_ours.outcome != PASSED:
            comparison.both.append(Failure(test_id, service, on_moto.message or on_moto.outcome))
        elif on_ours.outcome == PASSED and on_moto.outcome != PASSED:
            comparison.only_ours.append(test_id)
    run = set(moto) | set(ours)
    for difference in differences:
        for pattern in difference.tests:
            if not any(matches(pattern, test_id) for test_id in run):
                comparison.unmatched.append(pattern)
    return comparison
