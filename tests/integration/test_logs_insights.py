"""Logs Insights on a running local AWS through AWS's own CLI: a function's own REPORT line, queried as the Lambda
operator guide queries it."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend import aws
from localaws import instance
from tests.conftest import aws_cli_path, poll


def test_the_aws_cli_queries_a_functions_report_line(
    lambda_api: Any, make_function: Callable[..., str], tmp_path: Path
) -> None:
    cli = aws_cli_path()
    environment = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "AWS_DEFAULT_REGION": "us-east-1",
                   **instance.credentials().environment()}  # fmt: skip
    endpoint = ["--endpoint-url", aws.connection().endpoint_url or "", "--output", "json"]

    def logs(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(cli), "logs", *args, *endpoint], env=environment, capture_output=True, text=True,
                              timeout=60)  # fmt: skip

    function = make_function("echo")  # Lambda's Text log format: START, END and REPORT lines
    assert logs("create-log-group", "--log-group-name", f"/aws/lambda/{function}").returncode == 0
    invoked = lambda_api.invoke(FunctionName=function, Payload=b"{}")
    request_id = invoked["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    text = (f'filter @type = "REPORT" and @requestId = "{request_id}" | stats count(*) as invocations, '
            "pct(@duration, 99) as p99, max(@billedDuration) as billed, max(@memorySize / 1000 / 1000) as memoryMB, "
            "max(@maxMemoryUsed) as used by bin(5m)")  # fmt: skip
    now = int(time.time())
    window = ["--start-time", str(now - 600), "--end-time", str(now + 600)]

    def reported() -> dict[str, Any] | None:
        # The telemetry delivers a function's lines every few seconds: a query finds the line once it is stored.
        started = logs("start-query", "--log-group-name", f"/aws/lambda/{function}", *window, "--query-string", text)
        assert started.returncode == 0, started.stderr
        query_id = json.loads(started.stdout)["queryId"]
        answer = poll(lambda: (r := json.loads(logs("get-query-results", "--query-id", query_id).stdout))["status"]
                      in ("Complete", "Failed", "Cancelled") and r, timeout=30)  # fmt: skip
        assert answer["status"] == "Complete"
        return answer if answer["results"] else None

    answer = poll(reported, timeout=60, interval=1, what="the REPORT line in the function's log group")
    (row,) = [{cell["field"]: cell["value"] for cell in cells} for cells in answer["results"]]
    assert row["invocations"] == "1"
    assert float(row["p99"]) > 0
    assert int(row["billed"]) >= 1
    assert row["memoryMB"] == "256"
    assert int(row["used"]) % 1_000_000 == 0
    assert answer["statistics"]["recordsMatched"] == 1.0

    malformed = logs("start-query", "--log-group-name", f"/aws/lambda/{function}", *window, "--query-string",
                     "stats count(*) by")  # fmt: skip
    assert malformed.returncode != 0
    assert "MalformedQueryException" in malformed.stderr
