"""CloudFormation as a service of the local AWS: corrections only (the stack itself is deployed by localaws.stack)."""

from __future__ import annotations

from localaws.services.cloudformation import fixes
from localaws.services.service import Service


class CloudFormation(Service):
    """Stacks, whose failures name their resource."""

    name = "cloudformation"
    corrections = fixes.CORRECTIONS
