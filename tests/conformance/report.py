"""The run's report, in Markdown: the README-ready table, then what the lead fixes next (the unexplained failures, by
service, each with the first line of its failure), then what is only noted."""

from __future__ import annotations

from collections.abc import Iterable

from tests.conformance.compare import Comparison, Failure, Row

EXPECTED_LINK = "tests/conformance/expected.toml"
MESSAGE_WIDTH = 200  # of a failure's first line in the report: enough to tell one failure from another


def table(rows: list[Row]) -> str:
    """Service, moto tests run, passing on moto, passing on ours, expected differences (linked to their file)."""
    lines = [
        "| Service | moto tests run | passing on moto | passing on ours | expected differences |",
        "|---|---:|---:|---:|---:|",
    ]
    total = Row("**Total**")
    for row in rows:
        lines.append(_line(row))
        total.tests += row.tests
        total.passed_moto += row.passed_moto
        total.passed_ours += row.passed_ours
        total.expected += row.expected
        total.skipped += row.skipped
    lines.append(_line(total))
    return "\n".join(lines)


def _line(row: Row) -> str:
    expected = f"[{row.expected}]({EXPECTED_LINK})" if row.expected else "0"
    return f"| {row.service} | {row.tests} | {row.passed_moto} | {row.passed_ours} | {expected} |"


def _by_service(failures: Iterable[Failure]) -> list[str]:
    lines: list[str] = []
    service = None
    for failure in sorted(failures, key=lambda failure: (failure.service, failure.test_id)):
        if failure.service != service:
            service = failure.service
            lines += ["", f"#### {service}", ""]
        message = failure.message.replace("|", "\\|")
        if len(message) > MESSAGE_WIDTH:
            message = message[: MESSAGE_WIDTH - 1] + "…"
        lines.append(f"- `{failure.test_id}`: {message}")
    return lines


def render(comparison: Comparison, heading: str) -> str:
    """The whole report."""
    skipped = sum(row.skipped for row in comparison.rows)
    lines = [heading, "", table(comparison.rows), ""]
    lines.append(
        f"Tests skipped on both servers (Docker, or moto's own choice in server mode) are not counted: {skipped}."
    )
    lines += ["", f"### Unexplained: pass on moto, fail on the local AWS ({len(comparison.unexplained)})"]
    if comparison.unexplained:
        lines += [
            "",
            "Each is a difference to fix in the local AWS, or, where the local AWS is the one answering as AWS "
            f"does, to explain in {EXPECTED_LINK} (with the AWS documentation that says so).",
        ]
        lines += _by_service(comparison.unexplained)
    else:
        lines += ["", "None."]
    if comparison.stale or comparison.unmatched:
        lines += ["", "### Expected differences that did not differ in this run", ""]
        lines += [f"- `{test_id}`: passes on the local AWS" for test_id in comparison.stale]
        lines += [f"- `{pattern}`: names no test of this run" for pattern in comparison.unmatched]
    both = "the harness's host names and S3 URLs, or moto's answers that botocore's model does not allow; not fatal"
    lines += ["", f"### Failing on both ({both}) ({len(comparison.both)})"]
    lines += _by_service(comparison.both) or ["", "None."]
    if comparison.only_ours:
        lines += ["", f"### Passing on the local AWS only ({len(comparison.only_ours)})", ""]
        lines += [f"- `{test_id}`" for test_id in comparison.only_ours]
    return "\n".join(lines) + "\n"
