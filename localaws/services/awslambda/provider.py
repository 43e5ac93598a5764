"""Lambda as a service of the local AWS: moto's control plane, our runtime, Invoke API and SQS event sources."""

from __future__ import annotations

import os

from localaws.services.awslambda import fixes
from localaws.services.awslambda.event_source import EventSources, mappings_in_process
from localaws.services.awslambda.invoke_api import InvokeApi
from localaws.services.awslambda.runtime import LambdaRuntime
from localaws.services.iam.principals import RoleSessions
from localaws.services.service import Context, Service
from localaws.services.sqs.poller import LambdaPoller


class Lambda(Service):
    """Functions run in worker processes of their own, with their execution roles' credentials."""

    name = "lambda"
    corrections = fixes.CORRECTIONS

    def __init__(self) -> None:
        self._runtime: LambdaRuntime | None = None
        self._invoke_api: InvokeApi | None = None
        self._sources: EventSources | None = None
        self._role_sessions = RoleSessions()

    def start(self, context: Context) -> None:
        super().start(context)
        telemetry = context.telemetry
        self._runtime = LambdaRuntime(
            code_root=context.state_dir / "lambda",
            endpoint=context.endpoint,
            local_concurrency=context.options.lambda_concurrency,
            on_invocation=telemetry.record_invocation,
            on_throttle=telemetry.record_throttle,
            account_id=context.account_id,
            role_credentials=self._role_sessions.credentials,
        )
        self._invoke_api = InvokeApi(self._runtime, context.region, context.faults)
        context.routes.append(self._invoke_api)
        context.offers["lambda:invoke"] = self._invoke_api.answer_task
        # This process's own clients of Lambda (moto's, for what Task states do not route in-process) reach us.
        os.environ["AWS_ENDPOINT_URL_LAMBDA"] = context.endpoint
        self._sources = EventSources(mappings_in_process, LambdaPoller(), self._runtime, context.faults)

    def ready(self) -> None:
        if self._sources is not None:
            self._sources.start()

    def quiesce(self) -> None:
        if self._sources is not None:
            self._sources.stop()

    def reset(self) -> None:
        # The functions and roles went with moto's state: their warm workers and role sessions must not outlive them.
        self._role_sessions.forget()
        if self._runtime is not None:
            self._runtime.close()

    def stop(self) -> None:
        if self._invoke_api is not None:
            self._invoke_api.close()
        if self._runtime is not None:
            self._runtime.close()
        super().stop()
