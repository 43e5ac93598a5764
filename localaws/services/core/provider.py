"""moto's core as a service of the local AWS: corrections only."""

from __future__ import annotations

from localaws.services.core import fixes
from localaws.services.service import Service


class Core(Service):
    """Dispatch and bookkeeping shared by every service."""

    name = "core"
    corrections = fixes.CORRECTIONS
