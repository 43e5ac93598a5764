"""IAM and STS as a service of the local AWS: every request signed and authorised."""

from __future__ import annotations

from localaws.services.iam import fixes, principals
from localaws.services.service import Context, Service


class Iam(Service):
    """The instance's administrator registered, moto's access control switched on."""

    name = "iam"
    corrections = fixes.CORRECTIONS

    def start(self, context: Context) -> None:
        super().start(context)
        principals.register_admin(context.credentials)
        principals.enforce()
