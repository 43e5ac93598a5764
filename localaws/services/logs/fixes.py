"""Where moto's CloudWatch Logs answers otherwise than CloudWatch Logs: Logs Insights queries."""

from __future__ import annotations

import json
from typing import Any

from moto.logs.exceptions import InvalidParameterException

from localaws.services.logs import queries
from localaws.services.patches import Correction, Kind

_BACKEND = "moto.logs.models:LogsBackend"
_RESPONSE = "moto.logs.responses:LogsResponse"

logs_insights = Correction(
    "CloudWatch Logs Insights",
    Kind.FIX,
    "moto's Logs Insights reads only fields, sort and limit (a filter or stats query answers every event unchanged), "
    "ignores logGroupIdentifiers and limit, returns no statistics, answers an unknown query id with HTTP 500 and has "
    "no StopQuery. Queries are parsed at StartQuery (MalformedQueryException naming the problem and where it is) and "
    "run by their first reader over the events of their groups and time range: fields, filter, parse, stats (count, "
    "sum, avg, min, max, pct, ...) by fields and bin(), sort, limit; the fields of Lambda's START, END and REPORT "
    "lines discovered (localaws/services/logs/queries.py).",
)
logs_insights.expects(f"{_BACKEND}.__init__", source=["self.queries: dict[str, LogQuery] = {}"])


@logs_insights.replaces(
    f"{_BACKEND}.start_query", params=["self", "log_group_names", "start_time", "end_time", "query_string"]
)
def backend_start_query(
    original: Any, self: Any, log_group_names: list[str], start_time: int, end_time: int, query_string: str
) -> str:
    return queries.start_query(self, log_group_names, start_time, end_time, query_string)


@logs_insights.replaces(f"{_BACKEND}.get_query_results", params=["self", "query_id"])
def backend_get_query_results(original: Any, self: Any, query_id: str) -> queries.InsightsQuery:
    return queries.get_query_results(self, query_id)


@logs_insights.replaces(f"{_BACKEND}.describe_queries", params=["self", "log_stream_name", "status"])
def backend_describe_queries(
    original: Any, self: Any, log_stream_name: str | None, status: str | None
) -> list[queries.InsightsQuery]:
    return queries.describe_queries(self, log_stream_name, status)  # moto's "log_stream_name" is the group's name


@logs_insights.adds(f"{_BACKEND}.stop_query")
def backend_stop_query(self: Any, query_id: str) -> bool:
    return queries.stop_query(self, query_id)


@logs_insights.replaces(f"{_RESPONSE}.start_query", params=["self"], source=['self._get_param("logGroupNames")'])
def start_query(original: Any, self: Any) -> str:
    named = [self._get_param(key) for key in ("logGroupName", "logGroupNames", "logGroupIdentifiers")]
    if sum(value is not None for value in named) != 1:
        raise InvalidParameterException(
            "Exactly one of logGroupName, logGroupNames or logGroupIdentifiers must be specified."
        )
    single, *lists = named
    groups = [single] if single is not None else next(value for value in lists if value is not None)
    language = self._get_param("queryLanguage") or queries.QUERY_LANGUAGE
    if language != queries.QUERY_LANGUAGE:
        raise InvalidParameterException(f"The local AWS answers Logs Insights QL (CWLI) only, not {language}.")
    for required in ("startTime", "endTime", "queryString"):
        if self._get_param(required) is None:
            raise InvalidParameterException(f"{required} is required.")
    query_id = queries.start_query(
        self.logs_backend,
        list(groups),
        self._get_int_param("startTime"),
        self._get_int_param("endTime"),
        self._get_param("queryString"),
        self._get_int_param("limit"),
    )
    return json.dumps({"queryId": query_id})


@logs_insights.replaces(f"{_RESPONSE}.get_query_results", params=["self"])
def get_query_results(original: Any, self: Any) -> str:
    query = queries.get_query_results(self.logs_backend, self._get_param("queryId"))
    return json.dumps(query.answer(self._get_int_param("maxItems"), self._get_param("nextToken")))


@logs_insights.replaces(f"{_RESPONSE}.describe_queries", params=["self"])
def describe_queries(original: Any, self: Any) -> str:
    found = queries.describe_queries(self.logs_backend, self._get_param("logGroupName"), self._get_param("status"))
    size = self._get_int_param("maxResults") or 1000
    token = self._get_param("nextToken")
    offset = int(token) if token and token.isdigit() else 0
    answer: dict[str, Any] = {"queries": [query.info() for query in found[offset : offset + size]]}
    if offset + size < len(found):
        answer["nextToken"] = str(offset + size)
    return json.dumps(answer)


@logs_insights.adds(f"{_RESPONSE}.stop_query")
def stop_query(self: Any) -> str:
    return json.dumps({"success": queries.stop_query(self.logs_backend, self._get_param("queryId"))})


CORRECTIONS = (logs_insights,)
