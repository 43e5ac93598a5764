"""One local AWS: moto behind one endpoint, the stack deployed from the template, functions in worker processes."""

from __future__ import annotations

import functools
import gc
import logging
import os
import threading
import time
from typing import Any

from localaws import credentials, stack
from localaws.config import ACCOUNT_ID, REGION, LocalAwsOptions

_log = logging.getLogger(__name__)
_SENT_NOTIFICATIONS_KEPT = 1_000  # per topic: SNS keeps none, moto keeps all
_OTHER_CREDENTIALS = {"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_SECURITY_TOKEN"}


class LocalAws:
    """start() brings everything up and deploys the stack; stop() takes it down."""

    def __init__(self, options: LocalAwsOptions | None = None) -> None:
        self.options = options or LocalAwsOptions()
        self.endpoint = ""
        self.stack: dict[str, Any] = {}
        self._stop = threading.Event()
        self._parts: list[Any] = []
        self._telemetry: Any = None
        self._runtime: Any = None
        self._journal: Any = None
        self._faults: Any = None
        self.restored: dict[str, int] = {}

    def start(self, state_dir: Any) -> None:
        """Start the services and the endpoint, deploy the template, start its functions and event sources."""
        prepared = stack.prepare_in_background(
            self.options.template, self.options.parameters, self.options.stack_name, REGION
        )
        self._start_services(state_dir)
        import boto3

        from localaws.services import sqs
        from localaws.services.awslambda.event_source import EventSources, mappings_in_process

        # Made while the template is still being prepared: each client loads its service model.
        cloudformation, s3 = boto3.client("cloudformation", endpoint_url=self.endpoint), boto3.client("s3")
        sources = EventSources(mappings_in_process, sqs.LambdaPoller(), self._runtime, self._faults)
        self.stack = stack.deploy(prepared(), self.options.stack_name, s3, cloudformation)
        self.restored = self._restore()
        # moto's models, botocore's service descriptions and the stack live as long as the process: frozen, the
        # cyclic collector no longer walks them. Collecting less often as well (gc.set_threshold(7000, 10, 100))
        # shortened pauses but let the executions' reference cycles pile up: 1,130 MB after 20,000 orders, not 483.
        gc.collect()
        gc.freeze()

        sources.start()
        self._parts.append(sources)
        threading.Thread(target=self._janitor, name="local-aws-janitor", daemon=True).start()

    def _start_services(self, state_dir: Any) -> None:
        own = credentials.load_or_create(state_dir)
        # This process's own clients (the stack's deployment, Step Functions' SDK tasks) sign as the instance.
        os.environ.update(own.environment(), AWS_DEFAULT_REGION=REGION, AWS_REGION=REGION)
        for name in [key for key in os.environ if key.startswith("AWS_ENDPOINT_URL") or key in _OTHER_CREDENTIALS]:
            del os.environ[name]  # this process's own clients talk to moto in-process, not to some other endpoint
        from moto import mock_aws

        from localaws import boundary, chaos, gateway, journal, services
        from localaws.journal import Journal
        from localaws.services import cloudwatch, cloudwatch_alarms, dynamodb, iam, logs, sqs, stepfunctions
        from localaws.services.awslambda.invoke_api import InvokeApi
        from localaws.services.awslambda.runtime import LambdaRuntime
        from localaws.telemetry import Telemetry

        services.apply()
        # Lambda is passed through: moto's Step Functions then call the Invoke API on our endpoint (below).
        mock = mock_aws(
            config={
                "stepfunctions": {"execute_state_machine": True},
                # Its own credentials stay in the environment: moto would put fake ones there otherwise.
                "core": {"passthrough": {"services": ["lambda"], "urls": []}, "mock_credentials": False},
            }
        )
        mock.start()
        self._parts.append(mock)
        iam.register_admin(own)
        iam.enforce()

        telemetry = Telemetry(
            functools.partial(logs.deliver, ACCOUNT_ID, REGION),
            functools.partial(cloudwatch.publish, ACCOUNT_ID, REGION),
        )
        self._telemetry = telemetry
        runtime = LambdaRuntime(
            code_root=state_dir / "lambda",
            endpoint="",
            local_concurrency=self.options.lambda_concurrency,
            on_invocation=telemetry.record_invocation,
            on_throttle=telemetry.record_throttle,
            account_id=ACCOUNT_ID,
            role_credentials=iam.RoleSessions().credentials,
        )
        self._faults = chaos.Faults()
        invoke_api = InvokeApi(runtime, REGION, self._faults)
        self._journal = Journal(state_dir / journal.FILE_NAME)
        for service in (sqs, dynamodb, stepfunctions, logs, cloudwatch, cloudwatch_alarms):
            service.record_to(self._journal)
        # The chaos route after the Invoke API: an Invoke is checked there, once, whoever calls it.
        trust = boundary.Boundary(self.options.allowed_origins, own.access_key_id)
        endpoint = gateway.Gateway(self.options.host, self.options.port, trust, [invoke_api, self._faults.route])
        self.endpoint = endpoint.endpoint
        runtime.endpoint = self.endpoint
        endpoint.start()
        # Stopped newest first: the journal closes once nothing more can be acknowledged, and before the functions
        # stop, so executions failing because of the shutdown are not what a restart comes back to.
        self._parts += [runtime, invoke_api, self._journal, endpoint]
        # moto's Step Functions call Lambda through boto3: this endpoint, answered in-process.
        os.environ["AWS_ENDPOINT_URL_LAMBDA"] = self.endpoint
        stepfunctions.route_lambda_invocations(invoke_api.answer_task)
        stepfunctions.running_executions.limit = self.options.max_running_executions

        stepfunctions.on_execution_started(
            lambda execution: telemetry.record_execution_started(
                execution.state_machine_arn, execution.start_date.timestamp()
            )
        )
        stepfunctions.on_execution_finished(
            lambda execution: telemetry.record_execution_finished(
                execution.state_machine_arn,
                execution.status,
                execution.start_date.timestamp(),
                execution.stop_date.timestamp(),
            )
        )
        sqs.on_activity(
            lambda queue, metric, count, at: telemetry.metric(
                "AWS/SQS", metric, count, "Count", {"QueueName": queue}, at
            )
        )
        telemetry.start()
        self._parts.append(telemetry)

        self._runtime = runtime

    def _restore(self) -> dict[str, int]:
        """Bring back what the journal holds (the stack is deployed, nothing polls yet); return what came back."""
        from localaws.services import cloudwatch, cloudwatch_alarms, dynamodb, logs, sqs, stepfunctions

        started = time.monotonic()
        retention = self.options.retention_hours * 3600
        restored = {
            # Logs and metrics first: the executions continued below start logging and counting at once.
            **logs.restore(self._journal, self.options.max_log_events_per_stream, retention),
            **cloudwatch.restore(self._journal, retention),
            **cloudwatch_alarms.restore(self._journal),
            **dynamodb.restore(self._journal),
            **sqs.restore(self._journal),
            **{f"executions_{name}": count for name, count in stepfunctions.restore(self._journal).items()},
        }
        _log.info("restored from the journal in %.2f s: %s", time.monotonic() - started, restored)
        return restored

    def _janitor(self) -> None:
        """Keep memory bounded (moto keeps every execution, datapoint and log event forever); publish queue ages."""
        from localaws import instance
        from localaws.services import cloudwatch, cloudwatch_alarms, dynamodb, logs, sns, sqs, stepfunctions

        retention = self.options.retention_hours * 3600
        passes = 0
        forgotten = instance.forgotten_through() or 0.0
        while not self._stop.wait(5):
            passes += 1
            try:
                stepfunctions.compact_finished_executions(
                    self.options.max_finished_executions, self.options.max_execution_records, retention
                )
                if stepfunctions.forgotten_through() > forgotten:  # lookups tell an expired order from an unknown one
                    forgotten = stepfunctions.forgotten_through()
                    instance.record_forgotten(forgotten)
                self._journal.prune(self.options.max_execution_records, retention)
                logs.prune_log_events(self.options.max_log_events_per_stream, retention)
                cloudwatch.retain_metrics(retention)
                sns.prune_sent_notifications(_SENT_NOTIFICATIONS_KEPT)
                if passes % 12 == 0:  # DynamoDB itself deletes expired items within days, not seconds
                    dynamodb.expire_items()
                now = time.time()
                for queue, gauges in sqs.queue_gauges().items():
                    for metric, value, unit in gauges:
                        self._telemetry.metric("AWS/SQS", metric, value, unit, {"QueueName": queue}, now)
                if passes % 2 == 0:  # AWS evaluates alarms every minute; every 10 s keeps the local pages prompt
                    cloudwatch_alarms.evaluate_alarms(now)
            except Exception:
                _log.exception("the local AWS's housekeeping failed")

    def stop(self) -> None:
        """Stop everything started, newest first."""
        self._stop.set()
        for part in reversed(self._parts):
            started = time.monotonic()
            try:
                part.stop() if hasattr(part, "stop") else part.close()
            except Exception:
                _log.exception("stopping %s failed", type(part).__name__)
            _log.info("stopped %s in %.2f s", type(part).__name__, time.monotonic() - started)
        self._parts.clear()
