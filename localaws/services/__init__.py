"""moto as our services, with corrections: one module per service, each correction saying what it fixes and why.

Every correction is written against one moto version: `apply()` refuses another version and raises, naming the
correction, when a target no longer looks the way the correction expects. The measurements behind the speed
corrections are in docs/local-aws.md.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import moto

from localaws.services import (
    cloudformation,
    cloudwatch,
    cloudwatch_alarms,
    core,
    dynamodb,
    iam,
    logs,
    sns,
    sqs,
    stepfunctions,
)
from localaws.services._patching import CorrectionError
from localaws.services.awslambda import corrections as awslambda

MOTO_VERSION = "5.2.5"

CORRECTIONS: tuple[tuple[str, Callable[[], None]], ...] = (
    *core.CORRECTIONS,
    *iam.CORRECTIONS,
    *sqs.CORRECTIONS,
    *stepfunctions.CORRECTIONS,
    *awslambda.CORRECTIONS,
    *cloudformation.CORRECTIONS,
    *cloudwatch.CORRECTIONS,
    *cloudwatch_alarms.CORRECTIONS,
    *logs.CORRECTIONS,
    *sns.CORRECTIONS,
    *dynamodb.CORRECTIONS,
)

_lock = threading.Lock()
_applied = False


def apply() -> None:
    """Apply every correction once (idempotent); raise CorrectionError naming one that no longer applies."""
    global _applied
    # Checked on every call, so a changed install is never silently accepted.
    if moto.__version__ != MOTO_VERSION:
        raise CorrectionError(
            f"localaws.services is written against moto {MOTO_VERSION}, but moto {moto.__version__} is installed: "
            f"pin moto=={MOTO_VERSION} or re-check every correction"
        )
    with _lock:
        if _applied:
            return
        for name, correct in CORRECTIONS:
            try:
                correct()
            except CorrectionError:
                raise
            except Exception as exc:
                message = f"moto correction {name!r} no longer applies to moto {moto.__version__}: {exc!r}"
                raise CorrectionError(message) from exc
        _applied = True
