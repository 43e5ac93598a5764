"""One local AWS: moto behind one endpoint, its services started from one registry, the stack deployed from the
template."""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from localaws import credentials, stack
from localaws.config import ACCOUNT_ID, REGION, LocalAwsOptions

_log = logging.getLogger(__name__)
HOUSEKEEPING_SECONDS = 5
_OTHER_CREDENTIALS = {"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_SECURITY_TOKEN"}
# moto with Step Functions interpreting the ASL, Lambda passed through to our Invoke API, and the instance's own
# credentials kept in the environment (moto would put fake ones there).
_MOTO_CONFIG = {
    "stepfunctions": {"execute_state_machine": True},
    "core": {"passthrough": {"services": ["lambda"], "urls": []}, "mock_credentials": False},
}


class LocalAws:
    """start() brings everything up and deploys the stack; stop() takes it down."""

    def __init__(self, options: LocalAwsOptions | None = None) -> None:
        self.options = options or LocalAwsOptions()
        self.endpoint = ""
        self.stack: dict[str, Any] = {}
        self.restored: dict[str, int] = {}
        self._stop = threading.Event()
        self._stopping: list[tuple[str, Callable[[], Any]]] = []  # what stop() stops, in order

    def start(self, state_dir: Path) -> None:
        """Start the services and the endpoint, deploy the template, restore the journal, then let services work."""
        from localaws.services import registry

        prepared = stack.prepare_in_background(
            self.options.template, self.options.parameters, self.options.stack_name, REGION
        )
        context = self._start_services(state_dir)
        import boto3

        # Made while the template is still being prepared: each client loads its service model.
        cloudformation, s3 = boto3.client("cloudformation", endpoint_url=self.endpoint), boto3.client("s3")
        self.stack = stack.deploy(prepared(), self.options.stack_name, s3, cloudformation)
        started = time.monotonic()
        for service in registry.REGISTRY:
            self.restored |= service.restore(context.journal, self.options)
        _log.info("restored from the journal in %.2f s: %s", time.monotonic() - started, self.restored)
        # moto's models, botocore's service descriptions and the stack live as long as the process: frozen, the
        # cyclic collector no longer walks them. Collecting less often as well (gc.set_threshold(7000, 10, 100))
        # shortened pauses but let the executions' reference cycles pile up: 1,130 MB after 20,000 orders, not 483.
        gc.collect()
        gc.freeze()
        for service in registry.REGISTRY:
            service.ready()
        threading.Thread(target=self._housekeeping, name="local-aws-housekeeping", daemon=True).start()

    def _start_services(self, state_dir: Path) -> Any:
        own = credentials.load_or_create(state_dir)
        # This process's own clients (the stack's deployment, Step Functions' SDK tasks) sign as the instance.
        os.environ.update(own.environment(), AWS_DEFAULT_REGION=REGION, AWS_REGION=REGION)
        for name in [key for key in os.environ if key.startswith("AWS_ENDPOINT_URL") or key in _OTHER_CREDENTIALS]:
            del os.environ[name]  # this process's own clients talk to moto in-process, not to some other endpoint
        from moto import mock_aws

        from localaws import boundary, chaos, gateway, journal, reset
        from localaws.services import registry
        from localaws.services.service import Context
        from localaws.telemetry import Telemetry

        registry.apply()
        mock = mock_aws(config=_MOTO_CONFIG)
        mock.start()
        tables = [service.tables for service in registry.REGISTRY if service.tables is not None]
        faults = chaos.Faults()
        context = Context(
            options=self.options,
            state_dir=state_dir,
            account_id=ACCOUNT_ID,
            region=REGION,
            credentials=own,
            journal=journal.Journal(state_dir / journal.FILE_NAME, tables),
            telemetry=Telemetry.in_process(ACCOUNT_ID, REGION),
            faults=faults,
        )
        trust = boundary.Boundary(self.options.allowed_origins, own.access_key_id)
        endpoint = gateway.Gateway(self.options.host, self.options.port, trust, context.routes)
        self.endpoint = context.endpoint = endpoint.endpoint
        for service in registry.REGISTRY:
            service.start(context)
        # The reset before the chaos route, which no rule may fail; the chaos route after the services' (Lambda's
        # Invoke API): an Invoke is checked there, once, whoever calls.
        context.routes.append(reset.Reset(own, registry.REGISTRY, context.journal).route)
        context.routes.append(faults.route)
        endpoint.start()
        context.telemetry.start()
        self._stopping = [
            ("services' intake", lambda: [service.quiesce() for service in reversed(registry.REGISTRY)]),
            ("telemetry", context.telemetry.stop),
            ("endpoint", endpoint.stop),
            # The journal closes once nothing more can be acknowledged, and before the services stop, so executions
            # failing because of the shutdown are not what a restart comes back to.
            ("journal", context.journal.close),
            ("services", lambda: [service.stop() for service in reversed(registry.REGISTRY)]),
            ("moto", mock.stop),
        ]
        return context

    def _housekeeping(self) -> None:
        """Every few seconds, each service's housekeeping (bounded memory, sampled gauges, alarm evaluation)."""
        from localaws.services import registry

        while not self._stop.wait(HOUSEKEEPING_SECONDS):
            now = time.time()
            for service in registry.REGISTRY:
                try:
                    service.housekeep(now, self.options)
                except Exception:
                    _log.exception("the %s service's housekeeping failed", service.name)

    def stop(self) -> None:
        """Stop everything started, in order."""
        self._stop.set()
        for name, stop in self._stopping:
            started = time.monotonic()
            try:
                stop()
            except Exception:
                _log.exception("stopping the %s failed", name)
            _log.info("stopped the %s in %.2f s", name, time.monotonic() - started)
        self._stopping = []
