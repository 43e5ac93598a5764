"""Every emulated service, after LocalStack's provider registry: moto's, with corrections, and the emulator's own
features attached (localaws/services/service.py says what a service is; patches.py what a correction is).

Adding a service: a package holding a provider (a Service) and its modules, and one line in REGISTRY. The order is the
order services start and restore in: logs and metrics before what writes to them on restore, executions last (they
continue at once and call the rest), Lambda before Step Functions (whose Task states call Lambda in-process).
"""

from __future__ import annotations

from localaws.services import patches
from localaws.services.awslambda.provider import Lambda
from localaws.services.cloudformation.provider import CloudFormation
from localaws.services.cloudwatch.provider import CloudWatch
from localaws.services.core.provider import Core
from localaws.services.dynamodb.provider import DynamoDB
from localaws.services.iam.provider import Iam
from localaws.services.logs.provider import Logs
from localaws.services.service import Service
from localaws.services.sns.provider import Sns
from localaws.services.sqs.provider import Sqs
from localaws.services.stepfunctions.provider import StepFunctions

REGISTRY: tuple[Service, ...] = (
    Core(),
    Iam(),
    CloudFormation(),
    Logs(),
    CloudWatch(),
    DynamoDB(),
    Sqs(),
    Sns(),
    Lambda(),
    StepFunctions(),
)


def apply() -> None:
    """Apply every service's corrections (idempotent); CorrectionError names one that no longer applies."""
    patches.apply_all(correction for service in REGISTRY for correction in service.corrections)
