"""One HTTP request and its answer, as the endpoint's routes see them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localaws.principal import Principal


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request as the routes see it; headers are looked up without regard to case."""

    method: str
    path: str
    query: str
    headers: Any  # email.message.Message or botocore's HTTPHeaders: .get() and .items()
    body: bytes
    principal: Principal | None = None  # who signed it, once the trust boundary let it in


HttpResponse = tuple[int, Mapping[str, str], bytes]
Route = Callable[[HttpRequest], HttpResponse | None]
