"""Logs Insights queries as the local AWS answers them: StartQuery checks the query and its log groups and records it
(Scheduled); its first reader (GetQueryResults, DescribeQueries) runs it over the events in its groups and time range
and finds it Complete; StopQuery cancels one not yet run. They live on moto's Logs backend, so a reset forgets them,
and are not journaled: a restart forgets them too."""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.logs.exceptions import InvalidParameterException, LogsClientError, ResourceNotFoundException

from localaws.services.logs import discovery, evaluation
from localaws.services.logs.insights import MalformedQuery, Query, parse_query

MAX_QUERIES = 1_000  # per account and region; AWS keeps results for 7 days, the local AWS the newest 1,000 queries
MAX_LOG_GROUPS = 50
MAX_QUERY_LENGTH = 10_000
MAX_ITEMS = 10_000  # rows per GetQueryResults page
QUERY_LANGUAGE = "CWLI"
_LOG = logging.getLogger(__name__)


class MalformedQueryException(LogsClientError):
    """AWS's answer to a query that does not compile: the problem, and where it is in the query string."""

    def __init__(self, problem: MalformedQuery) -> None:
        super().__init__("MalformedQueryException", problem.message)
        location = {"startCharOffset": problem.start, "endCharOffset": problem.end}
        self.description = json.dumps({
            "__type": "MalformedQueryException",
            "message": problem.message,
            "queryCompileError": {"location": location, "message": problem.message},
        })  # fmt: skip


@dataclass(eq=False)
class InsightsQuery:
    """One query: what StartQuery was asked, and once run, its rows and statistics."""

    query_id: str
    query_string: str
    query: Query
    log_groups: list[str]
    account: str
    start_time: int  # epoch seconds, inclusive
    end_time: int  # epoch seconds, inclusive: events up to the end of that second
    limit: int | None
    status: str = "Scheduled"
    create_time: int = field(default_factory=lambda: int(time.time() * 1000))
    results: list[list[dict[str, str]]] = field(default_factory=list)
    statistics: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, backend: Any) -> None:
        """Run the query over its groups' events now, if it is still to run (once, whoever asks first)."""
        with self.lock:
            if self.status != "Scheduled":
                return
            self.status = "Running"
            try:
                events, scanned_bytes = self._events(backend)
                outcome = evaluation.run(self.query, events, self.limit)
            except Exception:
                _LOG.exception("Logs Insights query %s failed: %s", self.query_id, self.query_string)
                self.status = "Failed"
                return
            self.results = outcome.rows
            self.statistics = {
                "recordsMatched": float(outcome.matched),
                "recordsScanned": float(len(events)),
                "bytesScanned": float(scanned_bytes),
            }
            self.status = "Complete"

    def _events(self, backend: Any) -> tuple[list[dict[str, Any]], int]:
        earliest, latest = self.start_time * 1000, (self.end_time + 1) * 1000
        events, scanned = [], 0
        for name in self.log_groups:
            group = backend.groups.get(name)
            if group is None:
                continue  # deleted since StartQuery: nothing of it to scan
            for stream in list(group.streams.values()):
                for event in list(stream.events):  # a copy: the telemetry and the retention change the list
                    if earliest <= event.timestamp < latest:
                        scanned += len(event.message.encode())
                        events.append(discovery.event_fields(
                            self.account, name, stream.log_stream_name, event.event_id, event.timestamp,
                            event.ingestion_time, event.message,
                        ))  # fmt: skip
        return events, scanned

    def info(self) -> dict[str, Any]:
        """The query as DescribeQueries lists it."""
        return {
            "queryLanguage": QUERY_LANGUAGE,
            "queryId": self.query_id,
            "queryString": self.query_string,
            "status": self.status,
            "createTime": self.create_time,
            "logGroupName": self.log_groups[0],
        }

    def answer(self, max_items: int | None = None, next_token: str | None = None) -> dict[str, Any]:
        """The query as GetQueryResults answers it, a page of rows at a time."""
        offset = _offset(next_token, len(self.results))
        size = MAX_ITEMS if max_items is None else max_items
        page = self.results[offset : offset + size]
        answer: dict[str, Any] = {"queryLanguage": QUERY_LANGUAGE, "results": page, "status": self.status}
        if self.statistics:
            answer["statistics"] = self.statistics
        if offset + len(page) < len(self.results):
            answer["nextToken"] = str(offset + len(page))
        return answer


def _offset(token: str | None, total: int) -> int:
    if token is None:
        return 0
    if not token.isdigit() or int(token) > total:
        raise InvalidParameterException("The specified nextToken is not valid.")
    return int(token)


def group_name(identifier: str) -> str:
    """A log group named by its name or its ARN (arn:aws:logs:region:account:log-group:name, maybe with :*)."""
    if identifier.startswith("arn:"):
        return identifier.split(":log-group:", 1)[-1].removesuffix(":*")
    return identifier


def start_query(
    backend: Any,
    log_groups: list[str],
    start_time: int,
    end_time: int,
    query_string: str,
    limit: int | None = None,
) -> str:
    """Check and record a query; return its id. MalformedQueryException, InvalidParameterException and
    ResourceNotFoundException as AWS answers them."""
    if not log_groups:
        raise InvalidParameterException("Exactly one of logGroupName, logGroupNames or logGroupIdentifiers is needed.")
    if len(log_groups) > MAX_LOG_GROUPS:
        raise InvalidParameterException(f"A query may name at most {MAX_LOG_GROUPS} log groups.")
    if end_time < start_time:
        raise InvalidParameterException("endTime must be greater than or equal to startTime.")
    if len(query_string) > MAX_QUERY_LENGTH:
        raise InvalidParameterException(f"queryString must be at most {MAX_QUERY_LENGTH} characters long.")
    if limit is not None and not 1 <= limit <= MAX_ITEMS:
        raise InvalidParameterException(f"limit must be between 1 and {MAX_ITEMS}.")
    names = [group_name(identifier) for identifier in log_groups]
    for name in names:
        if name not in backend.groups:
            raise ResourceNotFoundException(f"Log group '{name}' does not exist for account ID '{backend.account_id}'")
    try:
        parsed = parse_query(query_string)
    except MalformedQuery as problem:
        raise MalformedQueryException(problem) from None
    query = InsightsQuery(
        str(uuid.uuid4()), query_string, parsed, names, backend.account_id, start_time, end_time, limit
    )
    queries: dict[str, Any] = backend.queries
    queries[query.query_id] = query
    for old in list(itertools.islice(queries, max(len(queries) - MAX_QUERIES, 0))):
        queries.pop(old, None)  # the oldest first: a dict keeps insertion order
    return query.query_id


def find(backend: Any, query_id: str) -> InsightsQuery:
    """The query of that id; ResourceNotFoundException if there is none."""
    query = backend.queries.get(query_id)
    if not isinstance(query, InsightsQuery):
        raise ResourceNotFoundException("The specified query does not exist.")
    return query


def get_query_results(backend: Any, query_id: str) -> InsightsQuery:
    """The query of that id, run if it has not been yet."""
    query = find(backend, query_id)
    query.run(backend)
    return query


def stop_query(backend: Any, query_id: str) -> bool:
    """Cancel a query that has not run; InvalidParameterException for one that has ended, as on AWS."""
    query = find(backend, query_id)
    with query.lock:
        if query.status in ("Scheduled", "Running"):
            query.status = "Cancelled"
            return True
    raise InvalidParameterException(f"Query {query_id} is not running: it is {query.status}.")


def describe_queries(backend: Any, log_group_name: str | None = None, status: str | None = None) -> list[InsightsQuery]:
    """The queries of a log group (or all), newest first, each run if it has not been (a listing never shows one
    waiting for a reader)."""
    found = []
    for query in reversed(list(backend.queries.values())):
        if not isinstance(query, InsightsQuery) or (log_group_name and log_group_name not in query.log_groups):
            continue
        query.run(backend)
        if status is None or query.status == status:
            found.append(query)
    return found
