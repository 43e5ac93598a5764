"""Logs Insights in the local AWS (localaws.services.logs) in-process: StartQuery, GetQueryResults, StopQuery and
DescribeQueries over the START, END and REPORT lines the local Lambda runtime writes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from localaws import credentials
from localaws.config import ACCOUNT_ID
from localaws.reset import Reset
from localaws.services.awslambda.functions import FunctionConfig
from localaws.services.awslambda.invocation import InvocationResult
from localaws.services.logs.provider import Logs
from tests.conformance.plugins.response_shapes import problems
from tests.conftest import poll
from tests.unit.localaws.conftest import Instance, assert_applied_once

REGION = "us-east-1"
GROUP = "/aws/lambda/orders"
STREAM = "2023/11/14/[$LATEST]0123456789abcdef"
T0 = (int(time.time()) // 300 * 300 - 1800) * 1000  # half an hour ago, on a 5-minute boundary
# request id, ms after T0, duration (ms), memory size (MB), max memory used (MB), init duration (ms), printed lines
INVOCATIONS = [
    ("a", 0, 102.25, 128, 70, 350.1, ["order o-1 accepted"]),
    ("b", 60_000, 20.0, 128, 72, None, []),
    ("c", 360_000, 250.5, 256, 90, 400.0, []),
    ("d", 420_000, 8.4, 256, 91, None, ["ERROR payment declined for o-2"]),
]


def lines(
    request_id: str,
    duration: float,
    memory: int,
    used: int,
    init: float | None,
    printed: list[str],
    log_format: str = "Text",
) -> list[str]:
    """An invocation's log lines as the local Lambda runtime frames them (its own START, END and REPORT)."""
    function = FunctionConfig(
        name="orders", arn="arn:aws:lambda:us-east-1:123456789012:function:orders", handler="app.handler",
        runtime="python3.11", timeout_seconds=3, memory_mb=memory, environment={}, reserved_concurrency=None,
        code_sha256="", log_group=GROUP, log_format=log_format, region=REGION, role="",
    )  # fmt: skip
    result = InvocationResult(function, request_id, b"", None, None, 0.0, duration, init, used, STREAM, printed)
    return result.framed_log_lines()


EVENTS = [(T0 + at + i, line) for rid, at, *rest in INVOCATIONS for i, line in enumerate(lines(rid, *rest))]


def stamp(ms: int) -> str:
    """A time as GetQueryResults writes @timestamp and bin()."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def test_the_runtimes_report_lines_are_lambdas() -> None:
    assert [line for _, line in EVENTS if line.startswith("REPORT RequestId: a")] == [
        "REPORT RequestId: a\tDuration: 102.25 ms\tBilled Duration: 103 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 70 MB\tInit Duration: 350.10 ms"
    ]


@pytest.fixture
def instance(started: Callable[..., Instance]) -> Instance:
    return started([Logs()])


@pytest.fixture
def logs(instance: Instance) -> Any:
    client = boto3.client("logs", region_name=REGION)
    client.create_log_group(logGroupName=GROUP)
    client.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)
    client.put_log_events(
        logGroupName=GROUP, logStreamName=STREAM, logEvents=[{"timestamp": t, "message": m} for t, m in EVENTS]
    )
    return client


def window(**extra: Any) -> dict[str, Any]:
    return {"logGroupName": GROUP, "startTime": T0 // 1000 - 60, "endTime": int(time.time()) + 60} | extra


def finished(client: Any, query_id: str) -> dict[str, Any]:
    """GetQueryResults once the query has ended, polled with a bound."""
    ended = ("Complete", "Failed", "Cancelled", "Timeout")
    return poll(lambda: (r := client.get_query_results(queryId=query_id))["status"] in ended and r, timeout=10)


def query(client: Any, text: str, **extra: Any) -> dict[str, Any]:
    return finished(client, client.start_query(queryString=text, **window(**extra))["queryId"])


def rows(client: Any, text: str, **extra: Any) -> list[dict[str, str]]:
    """The rows of a query, @ptr left out."""
    answer = query(client, text, **extra)
    assert answer["status"] == "Complete"
    return [{cell["field"]: cell["value"] for cell in row if cell["field"] != "@ptr"} for row in answer["results"]]


def error(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call()
    return dict(raised.value.response)


# The operator guide's queries and the rest of the subset, over the four invocations (newest first unless sorted).
@pytest.mark.parametrize(("text", "expected"), [
    ('filter @type = "REPORT" | fields @requestId, @billedDuration | sort by @billedDuration desc | limit 2',
     [{"@requestId": "c", "@billedDuration": "251"}, {"@requestId": "a", "@billedDuration": "103"}]),
    ('filter @type = "REPORT" | stats count(*) as invocations, sum(strcontains(@message, "Init Duration")) / count(*) '
     "* 100 as coldStartPct, avg(@duration) by bin(5m)",
     [{"bin(5m)": stamp(T0 + 300_000), "invocations": "2", "coldStartPct": "50", "avg(@duration)": "129.45"},
      {"bin(5m)": stamp(T0), "invocations": "2", "coldStartPct": "50", "avg(@duration)": "61.125"}]),
    ('filter @type = "REPORT" | stats pct(@duration, 50) as p50, percentile(@duration, 99) as p99, min(@duration), '
     "max(@duration), sum(@billedDuration)",
     [{"p50": "20", "p99": "250.5", "min(@duration)": "8.4", "max(@duration)": "250.5",
       "sum(@billedDuration)": "383"}]),
    ('filter @type = "REPORT" | stats max(@memorySize / 1000 / 1000) as provisionedMB, max(@maxMemoryUsed / 1000 / '
     "1000) as maxUsedMB, provisionedMB - maxUsedMB as overProvisionedMB by @memorySize",
     [{"@memorySize": "256000000", "provisionedMB": "256", "maxUsedMB": "91", "overProvisionedMB": "165"},
      {"@memorySize": "128000000", "provisionedMB": "128", "maxUsedMB": "72", "overProvisionedMB": "56"}]),
    ("filter ispresent(@initDuration) | stats count() as coldStarts, avg(@initDuration), max(@initDuration) as most",
     [{"coldStarts": "2", "avg(@initDuration)": "375.05", "most": "400"}]),
    ("stats count_distinct(@requestId) as ids, count(*) as events, count(@maxMemoryUsed) as reports",
     [{"ids": "4", "events": "14", "reports": "4"}]),
    ("filter ispresent(@type) | stats count(*) as n by @type | sort @type asc",
     [{"@type": "END", "n": "4"}, {"@type": "REPORT", "n": "4"}, {"@type": "START", "n": "4"}]),
    ('parse @message "Max Memory Used: * MB" as used | filter ispresent(used) | stats max(used) as most, count(*) as n',
     [{"most": "91", "n": "4"}]),
    ("parse @message /Init Duration: (?<init>[\\d.]+) ms/ | filter ispresent(init) | fields @requestId, init "
     "| sort init desc", [{"@requestId": "c", "init": "400.00"}, {"@requestId": "a", "init": "350.10"}]),
    ('filter @message like "payment declined" | fields @message', [{"@message": "ERROR payment declined for o-2"}]),
    ("filter @message like /(?i)error|ACCEPTED/ | fields @message",
     [{"@message": "ERROR payment declined for o-2"}, {"@message": "order o-1 accepted"}]),
    ('filter @type = "REPORT" and @message not like /Init Duration/ | fields @requestId',
     [{"@requestId": "d"}, {"@requestId": "b"}]),
    ('filter @type = "START" and (@requestId = "a" or @requestId = "d") | fields @requestId',
     [{"@requestId": "d"}, {"@requestId": "a"}]),
    ('filter @type = "START" and @requestId = "a" or @requestId = "d" and @type = "END" | fields @type, @requestId',
     [{"@type": "END", "@requestId": "d"}, {"@type": "START", "@requestId": "a"}]),
    ("filter not ispresent(@type) | stats count(*) as printed", [{"printed": "2"}]),
    ("filter @duration >= 20 and @duration < 250.5 | fields @requestId", [{"@requestId": "b"}, {"@requestId": "a"}]),
    ("filter @billedDuration > 100 or @maxMemoryUsed <= 70000000 | fields @requestId",
     [{"@requestId": "c"}, {"@requestId": "a"}]),
    ('filter @requestId != "a" and @type == "REPORT" | fields @requestId, @maxMemoryUsed | sort @maxMemoryUsed asc',
     [{"@requestId": "b", "@maxMemoryUsed": "72000000"}, {"@requestId": "c", "@maxMemoryUsed": "90000000"},
      {"@requestId": "d", "@maxMemoryUsed": "91000000"}]),
    ('fields @timestamp, @requestId, @logStream, @log | filter @type = "START" | sort @timestamp asc | limit 2',
     [{"@timestamp": stamp(T0), "@requestId": "a", "@logStream": STREAM, "@log": f"{ACCOUNT_ID}:{GROUP}"},
      {"@timestamp": stamp(T0 + 60_000), "@requestId": "b", "@logStream": STREAM, "@log": f"{ACCOUNT_ID}:{GROUP}"}]),
    ('filter @type = "END" | limit 1', [{"@timestamp": stamp(T0 + 420_002), "@message": "END RequestId: d"}]),
    ('filter @type = "NONE" | stats count(*)', []),
])  # fmt: skip
def test_a_query_answers_as_logs_insights_does(logs: Any, text: str, expected: list[dict[str, str]]) -> None:
    assert rows(logs, text) == expected


def test_a_json_events_keys_are_discovered_as_dotted_fields(logs: Any) -> None:
    # The stack's functions log JSON: Lambda's report is a platform.report record, queried by its dotted keys.
    json_stream = "json"
    logs.create_log_stream(logGroupName=GROUP, logStreamName=json_stream)
    events = [(T0 + at, line) for rid, at, *rest in INVOCATIONS for line in lines(rid, *rest, log_format="JSON")]
    logs.put_log_events(
        logGroupName=GROUP, logStreamName=json_stream, logEvents=[{"timestamp": t, "message": m} for t, m in events]
    )
    text = (
        'filter @logStream = "json" and type = "platform.report" | stats count(*) as n, '
        "count(record.metrics.initDurationMs) as cold, max(record.metrics.durationMs) as slowest, "
        "sum(record.metrics.billedDurationMs) as billed, max(record.metrics.maxMemoryUsedMB) as used"
    )
    assert rows(logs, text) == [{"n": "4", "cold": "2", "slowest": "250.5", "billed": "383", "used": "91"}]


def test_rows_carry_a_pointer_but_stats_rows_do_not_and_values_are_strings(logs: Any) -> None:
    found = query(logs, 'filter @type = "REPORT" | fields @duration')["results"]
    assert [[cell["field"] for cell in row] for row in found] == [["@duration", "@ptr"]] * 4
    assert len({row[1]["value"] for row in found}) == 4
    (stats,) = query(logs, "stats count(*), avg(@duration)")["results"]
    assert stats == [{"field": "count(*)", "value": "14"}, {"field": "avg(@duration)", "value": "95.2875"}]


@pytest.mark.parametrize(("text", "limit", "count"), [
    ("fields @message", None, 14),
    ("fields @message", 3, 3),
    ("fields @message | limit 5", 3, 5),  # the query's limit wins over StartQuery's
])  # fmt: skip
def test_limits(logs: Any, text: str, limit: int | None, count: int) -> None:
    assert len(rows(logs, text, **({"limit": limit} if limit else {}))) == count


def test_statistics_and_the_answers_fit_botocores_model(logs: Any) -> None:
    seen: list[tuple[Any, bytes]] = []
    logs.meta.events.register(
        "after-call.*.*", lambda http_response, model, **_: seen.append((model, http_response.content))
    )
    text = 'filter @type = "REPORT" | stats avg(@duration) by bin(5m)'
    answer = query(logs, text)
    scanned = float(sum(len(line.encode()) for _, line in EVENTS))
    assert answer["statistics"] == {"recordsMatched": 4.0, "recordsScanned": 14.0, "bytesScanned": scanned}
    listed = logs.describe_queries(logGroupName=GROUP)["queries"]
    assert [(q["status"], q["queryString"], q["logGroupName"]) for q in listed] == [("Complete", text, GROUP)]
    assert [problems(model, body) for model, body in seen] == [[]] * len(seen)


def test_the_time_range_is_inclusive_in_seconds(logs: Any) -> None:
    second = T0 // 1000
    assert len(rows(logs, "fields @message", startTime=second, endTime=second)) == 4  # a's lines, in its first second
    assert rows(logs, "fields @message", startTime=second - 10, endTime=second - 1) == []


def test_a_query_stops_before_it_is_read_and_ended_queries_cannot_stop(logs: Any) -> None:
    ids = [logs.start_query(queryString="fields @message", **window())["queryId"] for _ in range(2)]
    assert len(set(ids)) == 2
    assert logs.stop_query(queryId=ids[0])["success"] is True
    assert (finished(logs, ids[0])["status"], finished(logs, ids[0])["results"]) == ("Cancelled", [])
    assert finished(logs, ids[1])["status"] == "Complete"
    for ended in ids:
        assert error(lambda q=ended: logs.stop_query(queryId=q))["Error"]["Code"] == "InvalidParameterException"
    statuses = {q["queryId"]: q["status"] for q in logs.describe_queries()["queries"]}
    assert statuses == {ids[0]: "Cancelled", ids[1]: "Complete"}
    assert [q["queryId"] for q in logs.describe_queries(status="Cancelled")["queries"]] == [ids[0]]
    unknown = str(uuid.uuid4())
    assert error(lambda: logs.get_query_results(queryId=unknown))["Error"]["Code"] == "ResourceNotFoundException"
    assert error(lambda: logs.stop_query(queryId=unknown))["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize(("text", "message", "start"), [
    ("fiels @message", "mismatched input 'fiels' expecting {K_FIELDS", 0),
    ("display @message", "mismatched input 'display'", 0),
    ("fields @message\n| fiter x", "mismatched input 'fiter'", 18),
    ("stats count(*) by", "unexpected symbol found <EOF> at line 1 and position 17", 17),
    ("fields a b", "unexpected symbol found b at line 1 and position 9", 9),
    ("filter (@duration > 1", "unexpected symbol found <EOF>", 21),
    ("filter @duration = = 1", "unexpected symbol found =", 19),
    ('filter "open', "unterminated string", 7),
    ("filter @message like /(open/", "invalid regular expression /(open/", 21),
    ('parse @message "a=* b=*" as a', "the pattern has 2 wildcards (*) but 1 fields follow as", 15),
    ("parse @message /no groups/", "named groups", 15),
    ("stats avg(@duration, 2)", "avg() takes 1 arguments, got 2", 6),
    ("stats pct(@duration, 101)", "second argument must be a number from 0 to 100", 21),
    ("stats median(@duration)", "unknown function: median", 6),
    ("filter count(*) > 1", "aggregation count(*) can only be used in stats", 7),
    ("stats @duration", "@duration in stats must be an aggregation", 6),
    ("limit 0", "limit must be between 1 and 10000, got 0", 6),
    ("stats count(*) by bin(5)", "expected a time period such as 5m or 1h, found 5", 22),
    ("stats count(*) by bin(5parsecs)", "invalid time period: 5parsecs", 22),
])  # fmt: skip
def test_a_malformed_query_fails_start_query(logs: Any, text: str, message: str, start: int) -> None:
    answer = error(lambda: logs.start_query(queryString=text, **window()))
    assert answer["Error"]["Code"] == "MalformedQueryException"
    assert message in answer["Error"]["Message"]
    assert answer["queryCompileError"]["location"]["startCharOffset"] == start
    assert logs.describe_queries()["queries"] == []


@pytest.mark.parametrize(("call", "code", "message"), [
    ({"logGroupName": "/nope"}, "ResourceNotFoundException", "Log group '/nope' does not exist"),
    ({"logGroupNames": [GROUP]}, "InvalidParameterException", "Exactly one of logGroupName"),
    ({"startTime": 10, "endTime": 5}, "InvalidParameterException", "endTime must be"),
])  # fmt: skip
def test_start_query_refuses_as_aws_does(logs: Any, call: dict[str, Any], code: str, message: str) -> None:
    answer = error(lambda: logs.start_query(queryString="fields @message", **window(**call)))
    assert (answer["Error"]["Code"], message in answer["Error"]["Message"]) == (code, True)


def test_a_reset_and_a_restart_forget_queries(logs: Any, instance: Instance) -> None:
    def forgotten(query_id: str) -> bool:
        return error(lambda: logs.get_query_results(queryId=query_id))["Error"]["Code"] == "ResourceNotFoundException"

    before = logs.start_query(queryString="fields @message", **window())["queryId"]
    assert Reset(credentials.generate(), instance.services).reset() == []
    assert forgotten(before)
    assert logs.describe_queries()["queries"] == []
    logs.create_log_group(logGroupName=GROUP)
    again = logs.start_query(queryString="fields @message", **window())["queryId"]
    assert finished(logs, again)["results"] == []
    instance.restart()
    assert forgotten(again)


def test_the_correction_is_applied_once(logs: Any) -> None:
    assert_applied_once(Logs.corrections)
