"""Who signed a request the endpoint let in, and what IAM allows them."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Principal:
    """Who signed a request: the access key, whether it is the instance's own, and moto's view of the request."""

    access_key_id: str
    admin: bool
    signature: str
    iam_request: Any  # moto's IAMRequest for the signed request: it knows the key's owner and their policies

    def allows(self, action: str, resource: str) -> bool:
        """Whether IAM allows this principal the action ("lambda:InvokeFunction") on the resource (an ARN)."""
        from moto.core.exceptions import HTTPException

        asking = copy.copy(self.iam_request)
        asking._action = action  # moto keeps the action it judges in the request it was made for
        try:
            asking.check_action_permitted(resource)
        except HTTPException:
            return False
        return True

    @property
    def arn(self) -> str:
        """The principal's ARN, as AWS names it in an access-denied message."""
        return str(self.iam_request._access_key.arn)
