"""AWS's enum constraints, read from botocore's own service models: the values an API accepts, and how its
ValidationException words a value outside them."""

from __future__ import annotations

from functools import cache


@cache
def enum_values(service: str, shape: str) -> tuple[str, ...]:
    """The values botocore's model of the service allows for the shape."""
    import botocore.session

    return tuple(botocore.session.get_session().get_service_model(service).shape_for(shape).enum)


def enum_problem(value: object, service: str, shape: str) -> str | None:
    """Why the service refuses the value (as its ValidationException words it), or None."""
    allowed = enum_values(service, shape)
    return None if value in allowed else f"Member must satisfy enum value set: [{', '.join(sorted(allowed))}]"
