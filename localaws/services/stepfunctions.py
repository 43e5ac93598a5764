"""Corrections to moto's Step Functions: speed, AWS's stop and redrive semantics, execution hooks, CloudFormation."""

from __future__ import annotations

import collections
import datetime
import functools
import importlib
import inspect
import json
import logging
import math
import os
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from localaws.services._names import states_name_valid
from localaws.services._patching import fail, is_ours, iter_backends, mark, require_params, rewrite_prefix

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from moto.stepfunctions.parser.backend.execution import Execution

LOG = logging.getLogger(__name__)

_BOTO_CLIENT_MODULE = "moto.stepfunctions.parser.asl.utils.boto_client"
# Every module of moto 5.2.5 that does `from ...boto_client import boto_client_for` (found by grepping the
# parser package); each holds its own reference, so each must be rebound.
_BOTO_CLIENT_USERS = tuple(
    "moto.stepfunctions.parser.asl.component.state.exec." + name
    for name in (
        "state_map.result_writer.resource_eval.resource_eval_s3",
        "state_map.item_reader.eval.resource_eval_s3",
        "state_task.lambda_eval_utils",
        "state_task.service.state_task_service_aws_sdk",
        "state_task.service.state_task_service_batch",
        "state_task.service.state_task_service_dynamodb",
        "state_task.service.state_task_service_ecs",
        "state_task.service.state_task_service_events",
        "state_task.service.state_task_service_glue",
        "state_task.service.state_task_service_sfn",
        "state_task.service.state_task_service_sns",
        "state_task.service.state_task_service_sqs",
        "state_task.service.state_task_service_unsupported",
    )
)

_client_cache: dict[tuple[Any, ...], Any] = {}  # botocore clients, Lambda's routed
_client_cache_lock = threading.Lock()
_lambda_router: list[Callable[[Any], Any]] = []

_started_callbacks: list[Callable[[Execution], None]] = []
_finished_callbacks: list[Callable[[Execution], None]] = []
# Per-execution flags so a callback list fires at most once per execution even if moto calls twice.
_STARTED_FLAG = "_localaws_started_fired"
_FINISHED_FLAG = "_localaws_finished_fired"

# Serialises the pruners: the in-place prefix rewrite below is only safe if nobody else removes items.
_prune_lock = threading.Lock()

# --- Task clients ---------------------------------------------------------------------------------
# The Lambda calls of Task states are answered in this process when a router is set (route_lambda_invocations):
# over HTTP each would cost a client serialisation, a connection, a server thread and a parse, all under the
# one interpreter lock the interpreter itself needs.


def route_lambda_invocations(router: Callable[[str, dict[str, Any]], dict[str, Any]]) -> None:
    """Answer the Lambda Invoke calls of Task states with router(region, Invoke's parameters) -> Invoke's output (or
    botocore's ClientError), as botocore's client answers them."""
    _lambda_router[:] = [router]


class _RoutedLambdaClient:
    """A Task state's Lambda client whose Invoke the router answers in-process: botocore's client path (serialise,
    sign, emit events, parse) was 13 % of the local AWS's busy time under load. Other calls go to the client."""

    def __init__(self, region: str, client: BaseClient) -> None:
        self._region = region
        self._client = client

    def invoke(self, **parameters: Any) -> dict[str, Any]:
        if not _lambda_router:
            return self._client.invoke(**parameters)
        return _lambda_router[0](self._region, parameters)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


# moto's interpreter builds a new boto3 client (and TCP connection) for every Task state it runs: ~15% of CPU
# under load. Clients are cached per everything that chooses their endpoint and credentials.


def _credentials_key(state_credentials: Any) -> Any:
    # StateCredentials is a non-frozen dataclass, hence unhashable; its repr holds every field.
    try:
        hash(state_credentials)
    except TypeError:
        return (type(state_credentials).__qualname__, repr(state_credentials))
    return state_credentials


def _endpoint_env() -> tuple[tuple[str, str], ...]:
    # boto3 resolves AWS_ENDPOINT_URL[_<SERVICE>] when creating a client: a change must yield a new client.
    return tuple(
        sorted(
            (key, value)
            for key, value in os.environ.items()
            if key.startswith("AWS_ENDPOINT_URL") or key == "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
        )
    )


def reuse_task_clients() -> None:
    """One boto3 client per endpoint and credentials for every Task state, instead of one per state run."""
    correction = "Step Functions task clients"
    client_module = importlib.import_module(_BOTO_CLIENT_MODULE)
    current = getattr(client_module, "boto_client_for", None)
    if is_ours(current):
        cached: Callable[..., Any] = current  # type: ignore[assignment]
        original = current.__wrapped__  # type: ignore[union-attr]
    else:
        original = current
        require_params(correction, original, ["region", "service", "state_credentials"])
        stubber = importlib.import_module("moto.core.models").botocore_stubber
        if not hasattr(stubber, "enabled"):
            raise fail(correction, "moto.core.models.botocore_stubber has no 'enabled' flag")

        @functools.wraps(original)
        def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
            # Everything the original reads when building the client is part of the key: the stubber
            # flag and MOTO_PORT choose endpoint_url, the environment supplies per-service endpoints.
            key = (
                region,
                service,
                _credentials_key(state_credentials),
                bool(stubber.enabled),
                os.environ.get("MOTO_PORT"),
                _endpoint_env(),
            )
            client = _client_cache.get(key)
            if client is None:
                # One creator at a time: boto3's default session is not safe to build clients from
                # concurrently, and this way each key gets exactly one client.
                with _client_cache_lock:
                    client = _client_cache.get(key)
                    if client is None:
                        client = original(region, service, state_credentials)
                        if service == "lambda":
                            client = _RoutedLambdaClient(region, client)
                        _client_cache[key] = client
            return client

        cached = mark(boto_client_for)

    targets = [client_module]
    for name in _BOTO_CLIENT_USERS:
        try:
            targets.append(importlib.import_module(name))
        except ImportError as exc:
            raise fail(correction, f"cannot import {name}: {exc}") from exc
    for module in targets:
        ref = getattr(module, "boto_client_for", None)
        if ref is cached:
            continue
        if ref is not original:
            raise fail(correction, f"{module.__name__}.boto_client_for is not the function this correction replaces")
        module.boto_client_for = cached  # type: ignore[attr-defined]
    # Safety net for a moto module that imported it by name but is missing from _BOTO_CLIENT_USERS.
    for name, module in list(sys.modules.items()):
        held = getattr(module, "__dict__", {}).get("boto_client_for")
        if name.startswith("moto.") and held is original:
            module.boto_client_for = cached  # type: ignore[attr-defined]


# --- Step Functions execution hooks ---------------------------------------------------------------


def on_execution_started(callback: Callable[[Execution], None]) -> None:
    """Call callback(execution) whenever a Step Functions execution starts."""
    # Runs on the StartExecution request thread before the worker starts: keep callbacks quick.
    _started_callbacks.append(callback)


def on_execution_finished(callback: Callable[[Execution], None]) -> None:
    """Call callback(execution) whenever an execution reaches a terminal status (after status, stop_date, error/cause are set)."""  # noqa: E501
    # Runs on the execution's worker thread (the request thread for StartSyncExecution).
    _finished_callbacks.append(callback)


def _fire(callbacks: list[Callable[[Execution], None]], flag: str, execution: Execution, what: str) -> None:
    if execution.__dict__.get(flag):
        return
    execution.__dict__[flag] = True
    for callback in tuple(callbacks):
        try:
            callback(execution)
        except Exception:
            # A broken observer must never change the outcome of the execution it observes.
            LOG.exception("execution-%s callback %r failed for %s", what, callback, execution.exec_arn)


class _RunningExecutions:
    """At most limit executions interpret their workflow at once; the others wait, in start order, still RUNNING."""

    # moto gives every execution a thread from its start to its end. Behind the local Lambda concurrency cap a
    # burst became thousands of threads blocked in Task states, ~0.3 MB each: 5,000 orders took the RSS past
    # 700 MB. Waiting executions cost only their record; the Lambda workers stay just as busy.

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.running = 0
        self._waiting: collections.deque[Any] = collections.deque()
        self._lock = threading.Lock()

    def admit(self, worker: Any) -> None:
        with self._lock:
            if self.running >= self.limit:
                self._waiting.append(worker)
                return
            self.running += 1
        self._start(worker)

    def _start(self, worker: Any) -> None:
        threading.Thread(target=self._run, args=(worker,), name="sfn-execution", daemon=True).start()

    def _run(self, worker: Any) -> None:
        try:
            worker._execution_logic()
        finally:
            with self._lock:
                following = self._waiting.popleft() if self._waiting else None
                if following is None:
                    self.running -= 1
            if following is not None:
                self._start(following)


running_executions = _RunningExecutions(limit=100)


def execution_hooks() -> None:
    """Callbacks when an execution starts and when it ends (moto has none): the AWS/States metrics need them; and
    a bound on the executions interpreting at once (see _RunningExecutions)."""
    correction = "Step Functions execution hooks"
    execution_mod = importlib.import_module("moto.stepfunctions.parser.backend.execution")
    worker_mod = importlib.import_module("moto.stepfunctions.parser.backend.execution_worker")
    test_state_mod = importlib.import_module("moto.stepfunctions.parser.backend.test_state.execution")
    comm_cls = execution_mod.BaseExecutionWorkerCommunication
    test_state_cls = test_state_mod.TestStateExecution
    for name in ("_reflect_execution_status", "terminated"):
        if name not in comm_cls.__dict__:
            raise fail(correction, f"BaseExecutionWorkerCommunication.{name} is gone")
    raw_terminated = comm_cls.__dict__["terminated"]
    if is_ours(raw_terminated):
        raw_terminated = raw_terminated.__wrapped__
    if "self._reflect_execution_status()" not in inspect.getsource(raw_terminated):
        raise fail(correction, "BaseExecutionWorkerCommunication.terminated no longer reflects the status")
    if "self.exec_worker.start()" not in inspect.getsource(execution_mod.Execution.start):
        raise fail(correction, "Execution.start no longer starts its worker with exec_worker.start()")
    threaded_start = worker_mod.ExecutionWorker.__dict__["start"]
    if not is_ours(threaded_start) and "Thread(target=self._execution_logic" not in inspect.getsource(threaded_start):
        raise fail(correction, "ExecutionWorker.start no longer runs _execution_logic in a thread of its own")

    def observed_execution(worker: Any) -> Execution | None:
        comm = getattr(worker, "_execution_communication", None)
        if not isinstance(comm, comm_cls):
            return None
        execution = comm.execution
        # TestState runs are not executions (never listed; their comm skips the base terminated()).
        return None if isinstance(execution, test_state_cls) else execution

    # Started is hooked on the worker's start(), which Execution.start calls after setting exec_worker and
    # RUNNING: the callbacks see a running execution and finish before the worker can possibly terminate,
    # also for StartSyncExecution whose worker runs inline.
    for worker_cls in (worker_mod.ExecutionWorker, worker_mod.SyncExecutionWorker):
        original_start = worker_cls.__dict__.get("start")
        if is_ours(original_start):
            continue
        require_params(correction, original_start, ["self"])

        def make_start(original: Callable[[Any], None], threaded: bool) -> Callable[[Any], None]:
            @functools.wraps(original)
            def start(self: Any) -> None:
                execution = observed_execution(self)
                if execution is not None:
                    _fire(_started_callbacks, _STARTED_FLAG, execution, "started")
                if threaded:
                    running_executions.admit(self)  # in place of the original's thread of its own
                else:
                    original(self)

            return mark(start)

        worker_cls.start = make_start(original_start, threaded=worker_cls is worker_mod.ExecutionWorker)

    original_terminated = comm_cls.__dict__["terminated"]
    if not is_ours(original_terminated):
        require_params(correction, original_terminated, ["self"])

        @functools.wraps(original_terminated)
        def terminated(self: Any) -> None:
            worker = getattr(self.execution, "exec_worker", None)
            if worker is not None and getattr(worker, "_execution_communication", self) is not self:
                return  # a stopped attempt ending after a redrive started the next one: not this attempt's end
            # The original (through the subclass's _reflect_execution_status) sets status, stop_date,
            # error and cause; only then is the execution observable as finished.
            original_terminated(self)
            _abort_if_stopped(self.execution)
            _fire(_finished_callbacks, _FINISHED_FLAG, self.execution, "finished")

        comm_cls.terminated = mark(terminated)


# --- StopExecution ---------------------------------------------------------------------------------
# On AWS a stopped execution is ABORTED, with the error and cause StopExecution was given. moto drops both, and a
# stop that lands during a task's retry back-off ends the execution FAILED with the task's error instead.

_STOP_FLAG = "_localaws_stop_request"
_stop_requests: dict[str, tuple[str | None, str | None]] = {}


def _abort_if_stopped(execution: Any) -> None:
    request = execution.__dict__.get(_STOP_FLAG)
    if request is None:
        return
    from moto.stepfunctions.parser.api import ExecutionStatus

    execution.exec_status = ExecutionStatus.ABORTED
    execution.error, execution.cause = request


def stop_aborts() -> None:
    """A stopped execution ends ABORTED with the error and cause StopExecution was given, as on AWS."""
    correction = "Step Functions StopExecution aborts"
    execution_cls = importlib.import_module("moto.stepfunctions.parser.backend.execution").Execution
    responses_cls = importlib.import_module("moto.stepfunctions.responses").StepFunctionResponse
    original_stop = execution_cls.__dict__["stop"]
    original_response = responses_cls.__dict__["stop_execution"]
    if is_ours(original_stop):
        return
    require_params(correction, original_stop, ["self", "stop_date", "error", "cause"])
    require_params(correction, original_response, ["self"])

    @functools.wraps(original_response)
    def stop_execution(self: Any) -> Any:
        arn = self._get_param("executionArn")
        _stop_requests[arn] = (self._get_param("error"), self._get_param("cause"))
        try:
            return original_response(self)
        finally:
            _stop_requests.pop(arn, None)

    @functools.wraps(original_stop)
    def stop(self: Any, stop_date: datetime.datetime, error: str | None, cause: str | None) -> None:
        # Recorded before the worker stops, so whichever thread ends the execution sees the request; a finished
        # execution is not changed by a stop.
        if self.exec_status is None or self.exec_status.value == "RUNNING":
            self.__dict__[_STOP_FLAG] = _stop_requests.get(self.exec_arn, (error or None, cause or None))
        original_stop(self, stop_date, error, cause)
        if self.exec_status is not None and self.exec_status.value == "RUNNING" and _STOP_FLAG in self.__dict__:
            # moto's worker thread ends the execution a moment later; on AWS it is ABORTED when StopExecution
            # answers (a RedriveExecution right after must find it redrivable).
            self.stop_date = stop_date
        _abort_if_stopped(self)
        if _STOP_FLAG in self.__dict__ and _journal:  # answered ABORTED: a restart must not continue it
            _journal_finished(self)
            _journal[0].sync()

    responses_cls.stop_execution = mark(stop_execution)
    execution_cls.stop = mark(stop)
    _stop_before_the_program_starts(correction)


_PENDING_STOP = "_localaws_pending_stop"
_worker_env_lock = threading.Lock()


def _stop_before_the_program_starts(correction: str) -> None:
    # moto's worker creates its evaluation environment on its own thread; a StopExecution that arrives before
    # (right after StartExecution or RedriveExecution) fails on env None and the execution runs on. The stop
    # is kept and applied as soon as the environment exists.
    worker_cls = importlib.import_module("moto.stepfunctions.parser.backend.execution_worker").ExecutionWorker
    original_stop = worker_cls.__dict__["stop"]
    original_env = worker_cls.__dict__["_get_evaluation_environment"]
    require_params(correction, original_stop, ["self", "stop_date", "error", "cause"])
    require_params(correction, original_env, ["self"])
    if "self.env = self._get_evaluation_environment()" not in inspect.getsource(worker_cls._execution_logic):
        raise fail(correction, "ExecutionWorker._execution_logic no longer creates its environment that way")

    @functools.wraps(original_stop)
    def stop(self: Any, stop_date: datetime.datetime, error: str | None, cause: str | None) -> None:
        with _worker_env_lock:
            if self.env is None:
                self.__dict__[_PENDING_STOP] = (stop_date, error, cause)
                return
        original_stop(self, stop_date, error, cause)

    @functools.wraps(original_env)
    def _get_evaluation_environment(self: Any) -> Any:
        env = original_env(self)
        with _worker_env_lock:
            self.env = env
            pending = self.__dict__.pop(_PENDING_STOP, None)
        if pending:
            stop_date, error, cause = pending
            env.set_stop(stop_date=stop_date, cause=cause, error=error)
        return env

    worker_cls.stop = mark(stop)
    worker_cls._get_evaluation_environment = mark(_get_evaluation_environment)

    # A program stopped before its first state is pruned by moto without the ExecutionAborted event that closes
    # every stopped execution's history on AWS; it is added then.
    program_cls = importlib.import_module("moto.stepfunctions.parser.asl.component.program.program").Program
    stopped_cls = importlib.import_module("moto.stepfunctions.parser.asl.eval.program_state").ProgramStopped
    original_eval = program_cls.__dict__["eval"]
    require_params(correction, original_eval, ["self", "env"])
    if "ExecutionAborted" not in inspect.getsource(program_cls._eval_body):
        raise fail(correction, "Program._eval_body no longer records ExecutionAborted")

    @functools.wraps(original_eval)
    def eval(self: Any, env: Any) -> None:
        original_eval(self, env)
        if env.is_frame() or not isinstance(env.program_state(), stopped_cls):
            return
        events = env.event_manager.get_event_history()
        if not events or events[-1]["type"] != "ExecutionAborted":
            self._eval_body(env)  # not running any more: it only records how the program ended

    program_cls.eval = mark(eval)


# --- AmazonStateLanguageParser.parse -----------------------------------------------------------
# moto parses the whole definition with ANTLR for every execution: 70-180 ms of CPU for our 11-state
# workflow, which capped a burst at ~6 executions/s on 2 cores. The parsed program is read-only while it runs
# except in Parallel and Map states (their components count live branches), so only definitions without
# those share one parse.

_UNSHAREABLE_STATE_TYPES = ('"Parallel"', '"Map"')


def share_definition_parse() -> None:
    """Parse a definition once, not once per execution (only for definitions without Parallel or Map)."""
    correction = "Step Functions definition parse"
    parser_module = importlib.import_module("moto.stepfunctions.parser.asl.parse.asl_parser")
    parser_class = parser_module.AmazonStateLanguageParser
    current = parser_class.__dict__.get("parse")
    if not isinstance(current, staticmethod):
        raise fail(correction, "AmazonStateLanguageParser.parse is not a staticmethod")
    if is_ours(current.__func__):
        return
    original = current.__func__
    require_params(correction, original, ["definition"])
    cached_parse = functools.lru_cache(maxsize=32)(original)

    @functools.wraps(original)
    def parse(definition: str) -> Any:
        if any(kind in definition for kind in _UNSHAREABLE_STATE_TYPES):
            return original(definition)
        return cached_parse(definition)

    parser_class.parse = staticmethod(mark(parse))


# --- jsonpath_ng parse -------------------------------------------------------------------------
# Each JSONPath evaluation builds a new PLY parser (~1 ms); compiled paths are immutable, so share them.


def cache_jsonpath_parse() -> None:
    """Compile each JSONPath once."""
    correction = "Step Functions JSONPath parse"
    for name in (
        "moto.stepfunctions.parser.asl.utils.json_path",
        "moto.stepfunctions.parser.asl.component.common.path.result_path",
    ):
        module = importlib.import_module(name)
        current = getattr(module, "parse", None)
        if is_ours(current):
            continue
        if not callable(current) or not getattr(current, "__module__", "").startswith("jsonpath_ng"):
            raise fail(correction, f"{name}.parse is not jsonpath_ng's parse")
        module.parse = mark(functools.lru_cache(maxsize=4096)(current))


# --- Pruning --------------------------------------------------------------------------------------


def _start_ts(start_date: Any) -> float:
    if isinstance(start_date, datetime.datetime):
        if start_date.tzinfo is None:  # the non-executing backend stores naive UTC
            start_date = start_date.replace(tzinfo=datetime.UTC)
        return start_date.timestamp()
    return 0.0


def _is_finished(execution: Any) -> bool:
    # Parser executions keep an ExecutionStatus (None before start); the plain backend keeps a str.
    status = getattr(execution, "exec_status", None) if hasattr(execution, "exec_status") else execution.status
    return status is not None and str(getattr(status, "value", status)) != "RUNNING"


def _execution_lists() -> list[list[Any]]:
    from moto.stepfunctions.models import stepfunctions_backends
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    lists: list[list[Any]] = []
    # With execute_state_machine on, the API reads and writes stepfunctions_parser_backends; the plain
    # dict only holds CloudFormation-made machines then. Both are swept so neither mode leaks.
    for backend_dict in (stepfunctions_parser_backends, stepfunctions_backends):
        for backend in iter_backends(backend_dict):
            for machine in list(backend.state_machines):
                lists.append(machine.executions)
                # Executions started through a version ARN live on the version object.
                versions = list(getattr(machine, "versions", {}).values())
                lists.extend(version.executions for version in versions)
    return lists


class CompactExecution:
    """What remains of a finished execution once its detail is dropped: enough to list and describe it."""

    __slots__ = (
        "cause",
        "error",
        "exec_arn",
        "exec_status",
        "name",
        "start_date",
        "start_ts",
        "state_machine_arn",
        "stop_date",
    )
    compacted = True
    execution_input = output = None  # dropped with the detail; DescribeExecution says so (inputDetails)
    input_details = output_details = {"included": False}  # noqa: RUF012 - shared, never changed

    def __init__(self, execution: Any) -> None:
        self.name = execution.name
        self.exec_arn = execution.exec_arn
        self.state_machine_arn = execution.state_machine_arn
        self.exec_status = execution.exec_status
        self.start_date = execution.start_date
        self.start_ts = _start_ts(execution.start_date)
        self.stop_date = execution.stop_date
        self.error = execution.error
        self.cause = execution.cause

    @property
    def execution_arn(self) -> str:
        return self.exec_arn

    @property
    def status(self) -> str:
        return str(self.exec_status.value)

    def stop(self, stop_date: Any, error: Any, cause: Any) -> None:
        return  # finished: a stop changes nothing, as on AWS

    def to_history_output(self) -> Any:
        from moto.core.exceptions import AWSError

        class HistoryNotKept(AWSError):
            TYPE = "ResourceNotFound"
            STATUS = 400

        raise HistoryNotKept(
            f"The local AWS keeps the history of the newest finished executions only "
            f"(ORDERS_LOCAL_MAX_FINISHED_EXECUTIONS); {self.exec_arn} finished earlier and keeps its outcome only."
        )


class RestoredExecution(CompactExecution):
    """A finished execution with full detail brought back from the journal: input, output and its history."""

    __slots__ = ("_history", "execution_input", "output")
    input_details = output_details = {"included": True}  # noqa: RUF012 - shared, never changed

    def __init__(self, execution: Any, execution_input: str, output: str | None, history: bytes) -> None:
        super().__init__(execution)
        self.execution_input, self.output, self._history = execution_input, output, history

    def to_history_output(self) -> Any:
        return {"events": _history_events(self._history)}


_forgotten_through = 0.0  # the start time (epoch seconds) of the newest execution dropped so far


def forgotten_through() -> float:
    """The start time of the newest execution whose record was dropped (0 when none was): older ones are gone too."""
    return _forgotten_through


def compact_finished_executions(keep_detail: int, keep_records: int, keep_seconds: float) -> tuple[int, int]:
    """Keep full detail for the newest keep_detail finished executions, a compact record of the other finished ones
    up to keep_records in all that started in the last keep_seconds, and nothing else; return (compacted, dropped)."""
    if min(keep_detail, keep_records, keep_seconds) < 0:
        raise ValueError(f"limits must be >= 0, got {keep_detail}, {keep_records}, {keep_seconds}")
    oldest_kept = time.time() - keep_seconds
    with _prune_lock:
        lists = _execution_lists()
        compacted = _compact_tails(lists, keep_detail, keep_records, oldest_kept)
        if compacted is None:
            compacted = _compact_all(lists, keep_detail, keep_records, oldest_kept)
        _prune_finished_threads()
        shrunk, dropped = compacted
        if shrunk and _journal:
            rows = [(arn,) for arn in shrunk]
            _journal[0].write([("UPDATE executions SET output = NULL, history = NULL WHERE arn = ?", rows)])
        return len(shrunk), dropped


def _row(position: int, execution: Any) -> tuple[float, int, Any] | None:
    """(start time, position, execution) of a finished execution, None for a running one."""
    if isinstance(execution, CompactExecution):
        return execution.start_ts, position, execution
    return (_start_ts(execution.start_date), position, execution) if _is_finished(execution) else None


def _newest_first(rows: list[tuple[float, int, Any]]) -> None:
    # As list_executions orders them; later in a list breaks ties.
    rows.sort(key=lambda row: (row[0], row[1]), reverse=True)


def _shrinkable(rows: list[tuple[float, int, Any]], doomed: set[int]) -> dict[int, str]:
    """id -> ARN of the executions among rows that still hold full detail (a restored one does too) and stay."""
    return {
        id(execution): execution.exec_arn
        for _, _, execution in rows
        if id(execution) not in doomed and type(execution) is not CompactExecution
    }


def _compact_all(lists: list[Any], keep_detail: int, keep_records: int, oldest_kept: float) -> tuple[list[str], int]:
    snapshots = [(items, items[:]) for items in lists]
    finished = [row for _, snapshot in snapshots for row in map(_row, range(len(snapshot)), snapshot) if row]
    _newest_first(finished)
    beyond = finished[keep_detail:]
    records_left = max(keep_records - keep_detail, 0)
    doomed = {
        id(execution)
        for rank, (started, _, execution) in enumerate(beyond)
        if started < oldest_kept or rank >= records_left
    }
    shrink = _shrinkable(beyond, doomed)
    global _forgotten_through
    _forgotten_through = max(
        [_forgotten_through, *(started for started, _, execution in beyond if id(execution) in doomed)]
    )
    indexed = [items for items in lists if isinstance(items, IndexedExecutions)]
    for items in indexed:
        items.unsettle()
    for items, snapshot in snapshots:
        if any(id(execution) in doomed or id(execution) in shrink for execution in snapshot):
            kept = [
                CompactExecution(execution) if id(execution) in shrink else execution
                for execution in snapshot
                if id(execution) not in doomed
            ]
            rewrite_prefix(items, len(snapshot), kept)
    for items in indexed:
        items.settle()
    return list(shrink.values()), len(doomed)


def _compact_tails(
    lists: list[Any], keep_detail: int, keep_records: int, oldest_kept: float
) -> tuple[list[str], int] | None:
    """compact_finished_executions' answer found by reading only what follows each list's compact records (those
    change only by being dropped), or None when the whole lists must be read: something is due to be dropped, or the
    compact records are not all older than the rest. Each pass read every execution kept (up to 50,000)."""
    if not all(isinstance(items, IndexedExecutions) and items.settled <= len(items) for items in lists):
        return None
    tails = [(items, items.settled, items[items.settled :]) for items in lists]
    finished = [row for _, first, tail in tails for row in map(_row, range(first, first + len(tail)), tail) if row]
    _newest_first(finished)
    settled = [items for items in lists if items.settled]
    total = len(finished) + sum(items.settled for items in settled)
    if settled and (
        (finished and max(items.settled_newest for items in settled) >= finished[-1][0])
        or min(items.settled_oldest for items in settled) < oldest_kept
    ):
        return None
    if total - keep_detail > max(keep_records - keep_detail, 0) or any(
        started < oldest_kept for started, _, _ in finished[keep_detail:]
    ):
        return None
    shrink = _shrinkable(finished[keep_detail:], set())
    for items, first, tail in tails:
        if any(id(execution) in shrink for execution in tail):
            items[first : first + len(tail)] = [
                CompactExecution(execution) if id(execution) in shrink else execution for execution in tail
            ]
        items.settle()
    return list(shrink.values()), 0


def _prune_finished_threads() -> None:
    # moto appends every worker Thread it starts (several per execution) to TMP_THREADS and never removes
    # one; nothing reads the list, so finished threads are only a leak.
    utils = sys.modules.get("moto.stepfunctions.parser.utils")
    threads = getattr(utils, "TMP_THREADS", None)
    if not isinstance(threads, list):
        return
    snapshot = threads[:]
    kept = [thread for thread in snapshot if thread.ident is None or thread.is_alive()]
    if len(kept) != len(snapshot):
        rewrite_prefix(threads, len(snapshot), kept)


# --- Step Functions RedriveExecution --------------------------------------------------------------
# moto 5.2.5 has no RedriveExecution (HTTP 500). This implements AWS's documented behaviour for our kind of
# workflow: a FAILED, ABORTED or TIMED_OUT Standard execution continues from its unsuccessful step (the last
# top-level state entered), with the input that step had, under the same ARN; the history keeps the first
# attempt's events and continues after an ExecutionRedriven event. Steps that succeeded are not re-run.
# Limits: top-level states only (no Map/Parallel iteration redrive), `$$.Execution.Input` in the redriven part
# is the step's input, and the 14-day / redrive-count limits are not enforced.

_REDRIVABLE = {"FAILED", "ABORTED", "TIMED_OUT"}
_PRIOR_EVENTS = "_localaws_prior_events"
_REDRIVE_COUNT = "_localaws_redrive_count"
_redrive_lock = threading.Lock()


def _not_redrivable(message: str) -> Exception:
    from moto.core.exceptions import AWSError

    class ExecutionNotRedrivable(AWSError):
        TYPE = "ExecutionNotRedrivable"
        STATUS = 400

    return ExecutionNotRedrivable(message)


def redrive(execution: Any) -> datetime.datetime:
    """Continue a failed/aborted/timed-out parser execution from its unsuccessful step; return the redrive date."""
    import copy

    with _redrive_lock:
        status = getattr(execution.exec_status, "value", execution.exec_status)
        if status not in _REDRIVABLE:
            raise _not_redrivable(
                f"Execution {execution.exec_arn} is {status}: "
                "only FAILED, ABORTED or TIMED_OUT executions can be redriven."
            )
        events = copy.deepcopy(execution.to_history_output()["events"])
        definition = json.loads(execution.state_machine.definition)
        entered = [e["stateEnteredEventDetails"] for e in events if e["type"].endswith("StateEntered")]
        if entered and entered[-1]["name"] not in definition.get("States", {}):
            raise _not_redrivable(f"Execution {execution.exec_arn} has no top-level state to continue from.")
        # Stopped before its first state: it starts over, with its own input.
        details = entered[-1] if entered else {"name": definition["StartAt"], "input": json.dumps(execution.input_data)}
        return _continue_from(execution, details["name"], json.loads(details.get("input") or "{}"), events)


def _continue_from(execution: Any, state: str, state_input: Any, prior_events: list[Any]) -> datetime.datetime:
    """Run the execution on from state with state_input, under its ARN, as a redrive; return the redrive date."""
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.asl.eval.evaluation_details import EvaluationDetails, ExecutionDetails

    definition = json.loads(execution.state_machine.definition)
    definition["StartAt"] = state
    count = execution.__dict__.get(_REDRIVE_COUNT, 0) + 1
    redrive_date = datetime.datetime.now(tz=datetime.UTC)

    worker_cls = _redrive_worker_class()
    original = execution.get_start_execution_details()
    worker = worker_cls(
        evaluation_details=EvaluationDetails(
            aws_execution_details=execution._get_start_aws_execution_details(),
            execution_details=ExecutionDetails(
                arn=original.arn,
                name=original.name,
                role_arn=original.role_arn,
                inpt=original.inpt,
                start_time=original.start_time,
            ),
            state_machine_details=_state_machine_details(execution, json.dumps(definition)),
        ),
        exec_comm=execution._get_start_execution_worker_comm(),
        cloud_watch_logging_session=execution._cloud_watch_logging_session,
        activity_store=execution._activity_store,
    )
    worker.redrive_input = state_input
    worker.redrive_count = count
    execution.__dict__[_PRIOR_EVENTS] = prior_events
    execution.__dict__[_REDRIVE_COUNT] = count
    execution.__dict__.pop(_FINISHED_FLAG, None)  # the redriven attempt reports its own end
    execution.__dict__.pop(_STOP_FLAG, None)  # an earlier stop does not abort the redriven attempt
    execution.stop_date = None
    execution.error = None
    execution.cause = None
    execution.output = None
    execution.exec_worker = worker
    execution.exec_status = ExecutionStatus.RUNNING
    worker.start()
    return redrive_date


def _state_machine_details(execution: Any, definition: str) -> Any:
    from moto.stepfunctions.parser.asl.eval.evaluation_details import StateMachineDetails

    current = execution.get_start_state_machine_details()
    return StateMachineDetails(arn=current.arn, name=current.name, typ=current.typ, definition=definition)


@functools.cache
def _redrive_worker_class() -> type:
    from moto.stepfunctions.parser.api import ExecutionRedrivenEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    class RedriveExecutionWorker(ExecutionWorker):
        """Runs the rest of a redriven execution: starts at the failed step with that step's input."""

        redrive_input: Any = None
        redrive_count: int = 1

        def _get_evaluation_environment(self) -> Any:
            env = super()._get_evaluation_environment()
            env.states.reset(input_value=self.redrive_input)
            return env

        def _execution_logic(self) -> None:
            program = self._get_evaluation_entrypoint()
            self.env = self._get_evaluation_environment()
            self.env.event_manager.add_event(
                context=self.env.event_history_context,
                event_type=HistoryEventType.ExecutionRedriven,
                event_details=EventDetails(
                    executionRedrivenEventDetails=ExecutionRedrivenEventDetails(redriveCount=self.redrive_count)
                ),
                update_source_event_id=False,
            )
            program.eval(self.env)
            self._execution_communication.terminated()

    return RedriveExecutionWorker


def redrive_executions() -> None:
    """Answer RedriveExecution (moto: HTTP 500) and show the first attempt's events in the history."""
    correction = "Step Functions RedriveExecution"
    responses_mod = importlib.import_module("moto.stepfunctions.responses")
    execution_mod = importlib.import_module("moto.stepfunctions.parser.backend.execution")
    importlib.import_module("moto.stepfunctions.parser.backend.execution_worker")
    api = importlib.import_module("moto.stepfunctions.parser.api")
    if not hasattr(api.HistoryEventType, "ExecutionRedriven"):
        raise fail(correction, "HistoryEventType.ExecutionRedriven is gone")
    response_cls = responses_mod.StepFunctionResponse
    existing = response_cls.__dict__.get("redrive_execution")
    if existing is not None and not is_ours(existing):
        raise fail(correction, "moto now implements redrive_execution itself: drop this correction")
    execution_cls = execution_mod.Execution
    for name in ("get_start_execution_details", "_get_start_aws_execution_details", "_get_start_execution_worker_comm"):
        if not callable(getattr(execution_cls, name, None)):
            raise fail(correction, f"Execution.{name} is gone")

    if existing is None:

        def redrive_execution(self: Any) -> Any:
            from moto.core.responses import ActionResult

            execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
            if isinstance(execution, RestoredExecution):
                raise _not_redrivable(
                    f"{execution.exec_arn} finished before the local AWS restarted; it keeps its history, but the "
                    "local AWS redrives only executions that finished since its start."
                )
            if isinstance(execution, CompactExecution):
                raise _not_redrivable(
                    f"{execution.exec_arn} finished before the newest ORDERS_LOCAL_MAX_FINISHED_EXECUTIONS, whose "
                    "history the local AWS keeps: without its history it cannot be redriven."
                )
            if not isinstance(execution, execution_cls):
                raise _not_redrivable("Redrive needs the executing Step Functions backend (execute_state_machine).")
            return ActionResult({"redriveDate": redrive(execution)})

        response_cls.redrive_execution = mark(redrive_execution)

    history = execution_cls.__dict__["to_history_output"]
    if not is_ours(history):
        require_params(correction, history, ["self"])

        @functools.wraps(history)
        def to_history_output(self: Any) -> Any:
            output = history(self)
            prior = self.__dict__.get(_PRIOR_EVENTS)
            if not prior:
                return output
            offset = len(prior)
            later = []
            for event in output["events"]:
                event = dict(event)
                event["id"] = event["id"] + offset
                if event.get("previousEventId"):
                    event["previousEventId"] = event["previousEventId"] + offset
                else:
                    event["previousEventId"] = offset
                later.append(event)
            output["events"] = [*prior, *later]
            return output

        execution_cls.to_history_output = mark(to_history_output)


# --- Durability -------------------------------------------------------------------------------------
# An execution is journaled when it starts (on disk before StartExecution answers), as it enters each top-level
# state (name and input: where a redrive would continue) and when it ends (with its output and its history,
# compressed, dropped again when the execution is compacted). After a restart a finished one comes back with its
# detail or as a compact record; a running one continues from its last entered state, as a redrive does.

JOURNALED = "__localaws_journal__"
RESTARTED_ERROR = "LocalAws.Restarted"
_journal: list[Any] = []


def record_to(journal: Any) -> None:
    """Journal every execution's start, top-level states and end to journal (None: stop)."""
    _journal[:] = [journal] if journal is not None else []


def _journal_started(execution: Any) -> None:
    if not _journal or type(execution).__name__ == "SyncExecution":
        return  # StartSyncExecution answers only when it has ended: nothing to continue after a restart
    row = (
        execution.exec_arn,
        execution.state_machine_arn,
        execution.name,
        execution.execution_input,
        _start_ts(execution.start_date),
    )
    _journal[0].write(
        [
            (
                "INSERT OR REPLACE INTO executions (arn, state_machine_arn, name, input, start, status) "
                "VALUES (?, ?, ?, ?, ?, 'RUNNING')",
                [row],
            )
        ]
    )
    _journal[0].sync()


def _journal_finished(execution: Any) -> None:
    if not _journal or type(execution).__name__ == "SyncExecution":
        return
    output = execution.output
    if output is not None and not isinstance(output, str):
        output = json.dumps(output)  # as DescribeExecution answers it
    # Level 1: a history (~26 KB of JSON for 64 events) shrinks 10 to 20 times in under 0.1 ms.
    history = zlib.compress(_history_json(execution).encode(), 1)
    row = (
        execution.status,
        _start_ts(execution.stop_date),
        execution.error,
        execution.cause,
        output,
        history,
        execution.exec_arn,
    )
    _journal[0].write(
        [
            (
                "UPDATE executions SET status = ?, stop = ?, error = ?, cause = ?, output = ?, history = ? "
                "WHERE arn = ?",
                [row],
            )
        ]
    )


def _history_json(execution: Any) -> str:
    """The execution's history as JSON, without the deep copy GetExecutionHistory makes (~3 ms for 64 events)."""
    from localaws.journal import dumps

    env = execution.exec_worker.env if execution.exec_worker is not None else None
    if env is None or execution.__dict__.get(_PRIOR_EVENTS):  # not started, or redriven: rare, the general way
        return dumps(execution.to_history_output()["events"])
    manager = env.event_manager
    with manager._mutex:  # the lock moto's own reader takes
        return dumps(manager._history_event_list)


def _history_events(history: bytes) -> list[dict[str, Any]]:
    return json.loads(zlib.decompress(history))


def journal_executions() -> None:
    """Journal each execution's start, every top-level state it enters (with its input) and its end."""
    correction = "Step Functions journal"
    state_cls = importlib.import_module("moto.stepfunctions.parser.asl.component.state.state").CommonStateField
    environment_cls = importlib.import_module("moto.stepfunctions.parser.asl.eval.environment").Environment
    details = state_cls.__dict__["_get_state_entered_event_details"]
    if is_ours(details, JOURNALED):
        return
    require_params(correction, details, ["self", "env"])
    if "stateEnteredEventDetails=self._get_state_entered_event_details(env=env)" not in inspect.getsource(
        state_cls._eval_body
    ):
        raise fail(correction, "CommonStateField._eval_body no longer records its entry through this method")
    if not callable(getattr(environment_cls, "is_frame", None)):
        raise fail(correction, "Environment.is_frame is gone")
    # What restore() relies on to recreate a running execution the way StartExecution creates it.
    execution_cls = importlib.import_module("moto.stepfunctions.parser.backend.execution").Execution
    require_params(
        correction,
        execution_cls.__init__,
        [
            "self",
            "name",
            "sm_type",
            "role_arn",
            "exec_arn",
            "account_id",
            "region_name",
            "state_machine",
            "start_date",
            "cloud_watch_logging_session",
            "activity_store",
            "input_data",
            "trace_header",
        ],
    )
    manager_cls = importlib.import_module("moto.stepfunctions.parser.asl.eval.event.event_manager").EventManager
    history_source = inspect.getsource(manager_cls.get_event_history)
    if "with self._mutex:" not in history_source or "self._history_event_list" not in history_source:
        raise fail(correction, "EventManager.get_event_history no longer copies _history_event_list under _mutex")
    parser_backend = importlib.import_module("moto.stepfunctions.parser.models").StepFunctionsParserBackend
    if "id(state_machine.executions): []" not in inspect.getsource(parser_backend.start_execution):
        raise fail(correction, "StartExecution no longer runs an execution on a copy of its machine without executions")

    @functools.wraps(details)
    def _get_state_entered_event_details(self: Any, env: Any) -> Any:
        entered = details(self, env)
        if _journal and not env.is_frame():  # frames run Map and Parallel branches: not top-level states
            arn = env.states.context_object.context_object_data["Execution"]["Id"]
            row = (entered["name"], entered["input"], arn)
            _journal[0].write(
                [
                    (
                        "UPDATE executions SET state = ?, state_input = ?, status = 'RUNNING', stop = NULL, "
                        "error = NULL, cause = NULL WHERE arn = ?",
                        [row],
                    )
                ]
            )
        return entered

    state_cls._get_state_entered_event_details = mark(_get_state_entered_event_details, JOURNALED)
    _started_callbacks.append(_journal_started)
    _finished_callbacks.append(_journal_finished)


def restore(journal: Any) -> dict[str, int]:
    """Bring back the journaled executions: finished ones as compact records, running ones continued (or failed)."""
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    counts = {"finished": 0, "continued": 0, "failed": 0, "without_state_machine": 0}
    for row in journal.rows("SELECT * FROM executions ORDER BY start"):
        _, _, _, region, account, *_ = row["state_machine_arn"].split(":")
        try:
            machine = stepfunctions_parser_backends[account][region].describe_state_machine(row["state_machine_arn"])
        except Exception:
            counts["without_state_machine"] += 1
            continue
        if row["status"] != "RUNNING":
            compact = _compact(row, ExecutionStatus(row["status"]), row["stop"])
            if row["history"] is not None:
                compact = RestoredExecution(compact, row["input"], row["output"], row["history"])
            machine.executions.append(compact)
            counts["finished"] += 1
            continue
        why = _continue_restored(machine, row)
        if why is None:
            counts["continued"] += 1
            continue
        LOG.warning("execution %s cannot go on after the restart: %s", row["arn"], why)
        stop = time.time()
        cause = f"The local AWS restarted while this execution was running, and it cannot continue: {why}"
        machine.executions.append(_compact(row, ExecutionStatus.FAILED, stop, RESTARTED_ERROR, cause))
        journal.write(
            [
                (
                    "UPDATE executions SET status = 'FAILED', stop = ?, error = ?, cause = ? WHERE arn = ?",
                    [(stop, RESTARTED_ERROR, cause, row["arn"])],
                )
            ]
        )
        counts["failed"] += 1
    if counts["without_state_machine"]:
        LOG.warning(
            "%d journaled executions belong to state machines that no longer exist; not restored",
            counts["without_state_machine"],
        )
    return counts


def _compact(row: Any, status: Any, stop: float | None, error: str | None = None, cause: str | None = None) -> Any:
    import types

    return CompactExecution(
        types.SimpleNamespace(
            name=row["name"],
            exec_arn=row["arn"],
            state_machine_arn=row["state_machine_arn"],
            exec_status=status,
            start_date=datetime.datetime.fromtimestamp(row["start"], tz=datetime.UTC),
            stop_date=datetime.datetime.fromtimestamp(stop, tz=datetime.UTC) if stop is not None else None,
            error=error or row["error"],
            cause=cause or row["cause"],
        )
    )


def _continue_restored(machine: Any, row: Any) -> str | None:
    """Recreate a running execution under its ARN and continue it; return why it cannot, if it cannot."""
    import copy

    from moto.stepfunctions.parser.backend.execution import Execution

    definition = json.loads(machine.definition)
    state = row["state"] or definition["StartAt"]
    if state not in definition.get("States", {}):
        return f"its last state {state!r} is not a top-level state of {machine.arn} any more"
    # As moto's start_execution does: the execution runs on a snapshot of the machine, without its executions.
    clone = copy.deepcopy(machine, {id(machine.executions): [], id(machine.backend): machine.backend})
    execution = Execution(
        name=row["name"],
        sm_type=clone.sm_type,
        role_arn=clone.roleArn,
        exec_arn=row["arn"],
        account_id=machine.backend.account_id,
        region_name=machine.backend.region_name,
        state_machine=clone,
        start_date=datetime.datetime.fromtimestamp(row["start"], tz=datetime.UTC),
        cloud_watch_logging_session=None,
        activity_store={},
        input_data=row["input"],
    )
    execution.__dict__[_STARTED_FLAG] = True  # it started before the restart: not a new start
    machine.executions.append(execution)
    state_input = json.loads(row["state_input"]) if row["state"] else execution.input_data
    # The events of its attempt before the restart are not journaled (only a redriven one's earlier attempts are):
    # its history shows its start, then continues from the state it went on with.
    prior = _history_events(row["history"]) if row["history"] is not None else [_started_event(execution)]
    with _redrive_lock:
        _continue_from(execution, state, state_input, prior)
    return None


def _started_event(execution: Any) -> dict[str, Any]:
    """The ExecutionStarted event moto's worker records, for an execution started before the restart."""
    from moto.core.utils import iso_8601_datetime_with_milliseconds

    return {
        "id": 1,
        "previousEventId": 0,
        "timestamp": iso_8601_datetime_with_milliseconds(execution.start_date),
        "type": "ExecutionStarted",
        "executionStartedEventDetails": {
            "input": execution.execution_input,
            "inputDetails": {"truncated": False},
            "roleArn": execution.role_arn,
        },
    }


# --- Execution lookups ------------------------------------------------------------------------------
# moto finds an execution by scanning every execution of its state machine (DescribeExecution, StopExecution, the
# name check of StartExecution) and sorts them all for each ListExecutions page: the cost of every order grew with
# the history kept. Each state machine's executions (kept in start order) get an index by name.


class IndexedExecutions(list[Any]):
    """A state machine's executions in start order, with an index by execution name, and how many of the oldest
    are compact records (settled: those change only by being dropped) with their oldest and newest start."""

    def __init__(self, executions: Any = ()) -> None:
        super().__init__(executions)
        self._lock = threading.Lock()
        self.by_name = {execution.name: execution for execution in self}
        self.unsettle()

    def append(self, execution: Any) -> None:
        with self._lock:
            super().append(execution)
            self.by_name[execution.name] = execution

    def __setitem__(self, index: Any, value: Any) -> None:
        with self._lock:
            removed = self[index] if isinstance(index, slice) else [self[index]]
            added = list(value) if isinstance(index, slice) else [value]
            super().__setitem__(index, added if isinstance(index, slice) else value)
            # Readers look names up without the lock: a name kept must never be missing, even for a moment.
            self.by_name.update((execution.name, execution) for execution in added)
            kept = {id(execution) for execution in added}
            for execution in removed:
                if id(execution) not in kept and self.by_name.get(execution.name) is execution:
                    del self.by_name[execution.name]

    def unsettle(self) -> None:
        """Count no execution as settled (before the oldest are dropped)."""
        self.settled, self.settled_oldest, self.settled_newest = 0, math.inf, -math.inf

    def settle(self) -> None:
        """Count the compact records that follow the settled ones."""
        while self.settled < len(self) and type(record := self[self.settled]) is CompactExecution:
            self.settled_oldest = min(self.settled_oldest, record.start_ts)
            self.settled_newest = max(self.settled_newest, record.start_ts)
            self.settled += 1

    def find(self, execution_arn: str) -> Any:
        """The execution with this ARN, or None."""
        execution = self.by_name.get(execution_arn.rsplit(":", 1)[-1])
        return execution if execution is not None and execution.execution_arn == execution_arn else None


def _page_token(execution: Any) -> str:
    """Where the next page starts: after this execution (a token that stays valid as executions change)."""
    # Not base64 JSON: botocore's paginator would take that for a token of its own and unpack it into parameters.
    return f"{_start_ts(execution.start_date):.6f}:{execution.name}"


def _resume_position(executions: IndexedExecutions, token: str) -> int:
    """The list position just older than the token's execution (found by name, else by its start time)."""
    from moto.stepfunctions.exceptions import InvalidToken

    start_text, _, name = token.partition(":")
    try:
        start = float(start_text)
    except ValueError as exc:
        raise InvalidToken("the nextToken is not one ListExecutions gave") from exc
    execution = executions.by_name.get(name)
    if execution is not None:
        for position in range(len(executions) - 1, -1, -1):
            if executions[position] is execution:
                return position - 1
    # Pruned since: go on with the executions that started before it.
    position = len(executions) - 1
    while position >= 0 and _start_ts(executions[position].start_date) >= start:
        position -= 1
    return position


def _older(executions: IndexedExecutions, position: int, lowest: int) -> Iterator[Any]:
    for index in range(position, lowest - 1, -1):
        yield executions[index]


def _does_not_exist(execution_arn: str) -> Exception:
    from moto.stepfunctions.exceptions import ExecutionDoesNotExist

    return ExecutionDoesNotExist("Execution Does Not Exist: '" + execution_arn + "'")


def indexed_executions() -> None:
    """Find executions by name through an index, and list them newest first without sorting."""
    correction = "Step Functions execution lookups"
    models = importlib.import_module("moto.stepfunctions.models")
    instance_cls, machine_cls, backend_cls = (
        models.StateMachineInstance,
        models.StateMachine,
        models.StepFunctionBackend,
    )
    init = instance_cls.__dict__["__init__"]
    if is_ours(init):
        return
    if "self.executions: list[Execution] = []" not in inspect.getsource(init):
        raise fail(correction, "StateMachineInstance.__init__ no longer starts an empty executions list")
    if "self.executions.append(execution)" not in inspect.getsource(machine_cls.start_execution):
        raise fail(correction, "StateMachine.start_execution no longer appends to executions")
    require_params(
        correction, machine_cls.__dict__["_handle_name_input_idempotency"], ["self", "name", "execution_input"]
    )
    require_params(correction, machine_cls.__dict__["stop_execution"], ["self", "execution_arn"])
    require_params(correction, backend_cls.__dict__["describe_execution"], ["self", "execution_arn"])
    responses = importlib.import_module("moto.stepfunctions.responses").StepFunctionResponse
    if "results, next_token = self.stepfunction_backend.list_executions(" not in inspect.getsource(
        responses.list_executions
    ):
        raise fail(correction, "ListExecutions no longer takes (results, next_token) from the backend")

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.executions = IndexedExecutions(self.executions)

    def _handle_name_input_idempotency(self: Any, name: str, execution_input: str) -> Any:
        execution = self.executions.by_name.get(name)
        if execution is None:
            return None
        if execution_input == execution.execution_input and execution.status == "RUNNING":
            return execution  # same name and input while it runs: the same execution, as on AWS
        from moto.stepfunctions.exceptions import ExecutionAlreadyExists

        raise ExecutionAlreadyExists("Execution Already Exists: '" + execution.execution_arn + "'")

    def stop_execution(self: Any, execution_arn: str) -> Any:
        execution = self.executions.find(execution_arn)
        if execution is None:
            raise _does_not_exist(execution_arn)
        execution.stop(stop_date=datetime.datetime.now(tz=datetime.UTC), error="", cause="")
        return execution

    def describe_execution(self: Any, execution_arn: str) -> Any:
        self._validate_execution_arn(execution_arn)
        execution = self._get_state_machine_for_execution(execution_arn).executions.find(execution_arn)
        if execution is None:
            raise _does_not_exist(execution_arn)
        return execution

    def list_executions(
        self: Any,
        state_machine_arn: str,
        status_filter: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> tuple[list[Any], str | None]:
        executions = self.describe_state_machine(state_machine_arn).executions
        start = len(executions) - 1
        if next_token:
            start = _resume_position(executions, next_token)
        limit = max_results or 100
        page: list[Any] = []
        position = start
        # The settled executions are compact records of finished ones: none is RUNNING.
        lowest = executions.settled if status_filter == "RUNNING" else 0
        while position >= lowest and len(page) < limit:
            execution = executions[position]
            if not status_filter or execution.status == status_filter:
                page.append(execution)
            position -= 1
        more = any(not status_filter or e.status == status_filter for e in _older(executions, position, lowest))
        return page, (_page_token(page[-1]) if page and more else None)

    instance_cls.__init__ = mark(__init__)
    machine_cls._handle_name_input_idempotency = mark(_handle_name_input_idempotency)
    machine_cls.stop_execution = mark(stop_execution)
    backend_cls.describe_execution = mark(describe_execution)
    backend_cls.list_executions = mark(list_executions)


# --- ListExecutions answers -------------------------------------------------------------------------
# moto's generic serializer walks every item of a page against the API model (attribute pickers, shape lookups):
# 35 ms of CPU for a page of a few hundred, which `--wait` and the operator pages ask for every second or so. The
# items are plain dicts of strings and times, so they are written as JSON directly, as the serializer writes them.


def plain_list_executions() -> None:
    """Answer ListExecutions with the JSON the serializer would write, without walking the API model."""
    correction = "Step Functions ListExecutions answers"
    responses = importlib.import_module("moto.stepfunctions.responses").StepFunctionResponse
    original = responses.__dict__["list_executions"]
    if is_ours(original):
        return
    source = inspect.getsource(original)
    if '"startDate": execution.start_date' not in source or "return ActionResult(response)" not in source:
        raise fail(correction, "ListExecutions no longer answers an ActionResult of plain items")

    @functools.wraps(original)
    def list_executions(self: Any) -> tuple[str, dict[str, str]]:
        result = original(self).result
        page: dict[str, Any] = {
            "executions": [
                {
                    key: _epoch_ms(value) if isinstance(value, datetime.datetime) else value
                    for key, value in item.items()
                }
                for item in result["executions"]
            ]
        }
        if result["nextToken"]:
            page["nextToken"] = result["nextToken"]
        return json.dumps(page), {"Content-Type": "application/x-amz-json-1.0"}

    responses.list_executions = mark(list_executions)


def _epoch_ms(value: datetime.datetime) -> float:
    """A time as the JSON protocol writes it: seconds since the epoch, truncated to the millisecond (naive is UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return math.floor(value.timestamp() * 1000) / 1000


# --- CloudFormation AWS::StepFunctions::StateMachine ------------------------------------------------
# moto's CloudFormation puts a state machine in the non-executing backend, where the Step Functions API cannot
# see it once execute_state_machine is on, and it reads only DefinitionString: DefinitionS3Location (what
# `sam package` produces from DefinitionUri), DefinitionSubstitutions, StateMachineType, LoggingConfiguration and
# TracingConfiguration are ignored. This creates the machine where the API looks, with the definition AWS deploys.


def _cfn_definition(properties: dict[str, Any], account_id: str, region_name: str) -> str:
    if "DefinitionString" in properties:
        definition = properties["DefinitionString"]
    elif "Definition" in properties:
        definition = json.dumps(properties["Definition"])
    elif "DefinitionS3Location" in properties:
        from moto.s3.models import s3_backends
        from moto.utilities.utils import get_partition

        location = properties["DefinitionS3Location"]
        s3 = s3_backends[account_id][get_partition(region_name)]
        definition = s3.get_object(location["Bucket"], location["Key"]).value.decode()
    else:
        raise ValueError("a state machine needs DefinitionString, Definition or DefinitionS3Location")
    for key, value in (properties.get("DefinitionSubstitutions") or {}).items():
        definition = definition.replace("${" + key + "}", str(value))
    return definition


def cloudformation_state_machines() -> None:
    """Create CloudFormation's state machines in the executing backend, with their S3 definition substituted."""
    correction = "CloudFormation state machines"
    models = importlib.import_module("moto.stepfunctions.models")
    responses = importlib.import_module("moto.stepfunctions.responses")
    utils = importlib.import_module("moto.stepfunctions.utils")
    machine_cls = models.StateMachine
    create = machine_cls.__dict__["create_from_cloudformation_json"]
    delete = machine_cls.__dict__["delete_from_cloudformation_json"]
    if is_ours(create.__func__):
        return
    for method in (create, delete):
        if not isinstance(method, classmethod):
            raise fail(correction, f"StateMachine.{method.__func__.__name__} is no longer a classmethod")
    require_params(correction, responses.get_backend, ["account", "region"])

    def create_from_cloudformation_json(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        properties = cloudformation_json["Properties"]
        return responses.get_backend(account_id, region_name).create_state_machine(
            name=properties.get("StateMachineName", resource_name),
            definition=_cfn_definition(properties, account_id, region_name),
            roleArn=properties.get("RoleArn", ""),
            tags=utils.cfn_to_api_tags(properties.get("Tags", [])),
            loggingConfiguration=properties.get("LoggingConfiguration"),
            tracingConfiguration=properties.get("TracingConfiguration"),
            sm_type=properties.get("StateMachineType", "STANDARD"),
        )

    def delete_from_cloudformation_json(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        responses.get_backend(account_id, region_name).delete_state_machine(resource_name)

    machine_cls.create_from_cloudformation_json = classmethod(mark(create_from_cloudformation_json))
    machine_cls.delete_from_cloudformation_json = classmethod(mark(delete_from_cloudformation_json))


def execution_names() -> None:
    """moto's interpreter starts an execution by any name ("a/b", 200 characters) and names an unnamed one "None",
    so the second unnamed StartExecution fails with ExecutionAlreadyExists. Step Functions refuses a name it would
    not accept for a state machine (InvalidName; over 80 characters, a ValidationException) and names an unnamed
    execution with a UUID, which `aws stepfunctions start-execution` without --name relies on."""
    correction = "Step Functions execution names"
    parser_backend = importlib.import_module("moto.stepfunctions.parser.models").StepFunctionsParserBackend
    exceptions = importlib.import_module("moto.stepfunctions.exceptions")
    original = parser_backend.__dict__["start_execution"]
    if is_ours(original):
        return
    require_params(correction, original, ["self", "state_machine_arn", "name", "execution_input", "trace_header"])

    @functools.wraps(original)
    def start_execution(
        self: Any, state_machine_arn: str, name: Any = None, execution_input: Any = None, trace_header: Any = None
    ) -> Any:
        if not name:
            name = str(uuid.uuid4())
        elif not states_name_valid(name):
            raise exceptions.InvalidName(f"Invalid Name: '{name}'")
        elif len(name) > 80:
            raise exceptions.NameTooLongException(name)
        return original(self, state_machine_arn, name, execution_input, trace_header)

    parser_backend.start_execution = mark(start_execution)


CORRECTIONS = (
    ("Step Functions execution names", execution_names),
    ("Step Functions task clients", reuse_task_clients),
    ("Step Functions execution hooks", execution_hooks),
    ("Step Functions StopExecution aborts", stop_aborts),
    ("Step Functions definition parse", share_definition_parse),
    ("Step Functions JSONPath parse", cache_jsonpath_parse),
    ("Step Functions RedriveExecution", redrive_executions),
    ("Step Functions execution lookups", indexed_executions),
    ("Step Functions ListExecutions answers", plain_list_executions),
    ("Step Functions journal", journal_executions),
    ("CloudFormation state machines", cloudformation_state_machines),
)
