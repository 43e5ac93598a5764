"""python -m tests.conformance: moto's own tests for every service the local AWS serves, in server mode, against a
fresh local AWS and, at the same time, against plain moto_server; the table, the unexplained failures by service, and
a non-zero exit when a test passes on moto but fails on the local AWS without an expected difference explaining it."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conformance import compare, report, servers, source, suite
from tests.conformance.environment import clean_environment

HERE = Path(__file__).resolve().parent
PLUGINS = HERE / "plugins"
OUTPUT = HERE / "last-run"  # logs and outcomes of the last run (git-ignored)
REPORT = HERE / "last-run.md"  # its report (git-ignored)
MOTO_RESULTS, OURS_RESULTS, SUMMARY = "results-moto.jsonl", "results-local-aws.jsonl", "run.json"
TEST_TIMEOUT_SECONDS = 60  # one of moto's tests; the slowest takes ~12 s on a loaded machine
RUN_TIMEOUT_SECONDS = 20 * 60  # both runs together: far above the ~5 min they take, below CI's patience


@dataclass
class Run:
    """moto's tests against one server: its process, log and outcomes file."""

    name: str  # "moto" or "ours"
    endpoint: str
    log: Path
    results: Path
    process: subprocess.Popen[bytes] | None = None
    problem: str = ""  # why the run did not finish as a test run does (exit codes 0 and 1)

    def start(self, suite_root: Path, selection: Path, extra_environment: dict[str, str]) -> None:
        """Start pytest on the chosen modules, pointed at the endpoint (its output to the log)."""
        environment = clean_environment() | extra_environment
        environment |= {
            "TEST_SERVER_MODE": "true",
            "TEST_SERVER_MODE_ENDPOINT": self.endpoint,
            "TESTS_SKIP_REQUIRES_DOCKER": "true",
            "PYTHONPATH": str(PLUGINS),
            "CONFORMANCE_RESULTS": str(self.results),
            "CONFORMANCE_SELECTION": str(selection),
        }
        command = [sys.executable, "-m", "pytest", "-p", "conformance_results", "-p", "conformance_localaws"]
        command += ["-p", "response_shapes"]  # on both servers: an answer botocore's model does not allow fails
        command += ["-p", "no:cacheprovider", "--rootdir", str(suite_root), "-c", str(suite_root / "setup.cfg")]
        command += ["-q", "--tb=short", "-rfE", f"--timeout={TEST_TIMEOUT_SECONDS}"]
        command += ["--continue-on-collection-errors"]  # a module that cannot be imported is reported, not fatal
        command += [module.path for module in suite.modules()]
        with open(self.log, "wb") as output:
            self.process = subprocess.Popen(
                command,
                cwd=suite_root,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=environment,
                start_new_session=True,  # its own process group: a timeout stops whatever it started too
            )

    def wait(self, deadline: float) -> None:
        """Wait for pytest until the deadline (monotonic); note a run that did not end as a test run ends."""
        assert self.process is not None
        try:
            code = self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.problem = f"stopped after {RUN_TIMEOUT_SECONDS} s"
            return
        if code not in (0, 1):
            self.problem = f"pytest exited with {code}"

    def stop(self) -> None:
        """Stop pytest if it still runs (the run was interrupted): its own session is out of reach of a Ctrl-C."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _keep_log(log: Path) -> None:
    if log.is_file():
        shutil.copyfile(log, OUTPUT / log.name)


def _heading(summary: dict[str, Any]) -> str:
    names = {"moto": "plain moto_server", "ours": "the local AWS"}
    against = " and ".join(f"{names[name]} ({endpoint})" for name, endpoint in summary["endpoints"].items())
    return (
        f"## Conformance: moto {summary['version']}'s own tests ({summary['modules']} modules) against {against}\n\n"
        f"{summary['finished']}, {summary['seconds']:.0f} s wall time. Logs: tests/conformance/last-run/."
    )


def run_both(version: str, one_at_a_time: bool) -> dict[str, Any]:
    """Start both servers, run moto's tests against each, stop them; what the report needs besides the outcomes."""
    started = time.monotonic()
    suite_root = source.unpacked(version)
    shutil.rmtree(OUTPUT, ignore_errors=True)
    OUTPUT.mkdir(parents=True)
    selection = OUTPUT / "selection.json"
    selection.write_text(json.dumps({module.path: module.selection() for module in suite.modules()}, indent=1))
    with ExitStack() as stack:
        state_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="conformance-local-aws-")))
        stack.callback(_keep_log, state_dir / "local-aws.log")  # once the local AWS stopped, before the folder goes
        moto_endpoint = stack.enter_context(servers.moto_server(OUTPUT / "moto-server.log"))
        ours_endpoint = stack.enter_context(servers.local_aws(state_dir))
        runs = [
            Run("moto", moto_endpoint, OUTPUT / "pytest-moto.log", OUTPUT / MOTO_RESULTS),
            Run("ours", ours_endpoint, OUTPUT / "pytest-local-aws.log", OUTPUT / OURS_RESULTS),
        ]
        print(
            f"conformance: moto {version}'s tests, {len(suite.modules())} modules, against moto_server at "
            f"{moto_endpoint} and the local AWS at {ours_endpoint} (logs in {OUTPUT})",
            flush=True,
        )
        deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
        extra = {"moto": {}, "ours": {"ORDERS_LOCAL_STATE_DIR": str(state_dir)}}
        for run in runs:
            stack.callback(run.stop)  # before its server stops
            run.start(suite_root, selection, extra[run.name])
            if one_at_a_time:
                run.wait(deadline)
        for run in runs:
            run.wait(deadline)
    summary = {
        "version": version,
        "modules": len(suite.modules()),
        "finished": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": time.monotonic() - started,
        "endpoints": {run.name: run.endpoint for run in runs},
        "problems": [f"the run against {run.endpoint}: {run.problem}; see {run.log}" for run in runs if run.problem],
    }
    (OUTPUT / SUMMARY).write_text(json.dumps(summary, indent=1))
    return summary


def main(argv: list[str] | None = None) -> int:
    """Run both, compare, report; 0 when nothing passing on moto fails on the local AWS unexplained."""
    arguments = argparse.ArgumentParser(prog="python -m tests.conformance", description=__doc__)
    arguments.add_argument("--one-at-a-time", action="store_true", help="run against one server after the other")
    arguments.add_argument(
        "--report-only", action="store_true", help="report the last run's outcomes again (after editing expected.toml)"
    )
    args = arguments.parse_args(argv)
    import moto

    from localaws.services.patches import MOTO_VERSION

    if moto.__version__ != MOTO_VERSION:
        print(f"conformance: moto {moto.__version__} is installed, the local AWS pins {MOTO_VERSION}", file=sys.stderr)
        return 2
    expected = compare.load_expected()
    if args.report_only:
        summary = json.loads((OUTPUT / SUMMARY).read_text())
    else:
        summary = run_both(MOTO_VERSION, args.one_at_a_time)
    comparison = compare.compare(
        compare.load_outcomes(OUTPUT / MOTO_RESULTS), compare.load_outcomes(OUTPUT / OURS_RESULTS), expected
    )
    text = report.render(comparison, _heading(summary))
    if summary["problems"]:
        text += "\n### The run did not complete\n\n" + "".join(f"- {problem}\n" for problem in summary["problems"])
    REPORT.write_text(text)
    print(text, flush=True)
    return 0 if comparison.ok and not summary["problems"] else 1
