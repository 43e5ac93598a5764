"""Powertools parser envelope for the workflow's task payloads: bounded, strict, validated as the JSON they were."""

from typing import Any

from aws_lambda_powertools.utilities.parser import BaseEnvelope

from lambdas.domain.boundary import MAX_EVENT_BYTES, M, parse_strict


class StepFunctionsPayload(BaseEnvelope):
    """The whole event is the model: a Step Functions task payload, decoded JSON within Step Functions' size limit."""

    def parse(self, data: Any, model: type[M]) -> M:
        return parse_strict(model, data, max_bytes=MAX_EVENT_BYTES)
