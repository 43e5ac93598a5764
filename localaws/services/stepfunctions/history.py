"""GetExecutionHistory answered as Step Functions pages it: moto returns the whole history, oldest first, whatever
maxResults, nextToken, reverseOrder or includeExecutionData ask."""

from __future__ import annotations

from typing import Any

from localaws.services.patches import Correction, Kind

MAX_RESULTS = 1000  # GetExecutionHistory's largest page
_DEFAULT_PAGE = 100
# The event details that carry execution data, and their data fields (includeExecutionData=false leaves them out).
_DATA_FIELDS = ("input", "output", "inputDetails", "outputDetails")

history_pages = Correction(
    "Step Functions history pages",
    Kind.FIX,
    "moto's GetExecutionHistory returns every event, oldest first, and ignores maxResults, nextToken, reverseOrder "
    "and includeExecutionData; the history is now paged and ordered as Step Functions pages it (at most 1,000 "
    "events, 100 by default), and execution data left out on request.",
)


@history_pages.replaces("moto.stepfunctions.responses:StepFunctionResponse.get_execution_history", params=["self"])
def get_execution_history(original: Any, self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.stepfunctions.exceptions import InvalidToken, ValidationException

    events = list(original(self).result["events"])
    reverse = bool(self._get_param("reverseOrder"))
    limit = self._get_int_param("maxResults") or _DEFAULT_PAGE
    if not 1 <= limit <= MAX_RESULTS:
        raise ValidationException(
            f"1 validation error detected: Value '{limit}' at 'maxResults' failed to satisfy constraint: Member "
            f"must have value less than or equal to {MAX_RESULTS}"
        )
    start = _start(self._get_param("nextToken"), reverse, len(events), InvalidToken)
    if reverse:
        events.reverse()
    page = events[start : start + limit]
    if self._get_param("includeExecutionData") is False:
        page = [_without_data(event) for event in page]
    answer: dict[str, Any] = {"events": page}
    if start + limit < len(events):
        answer["nextToken"] = f"{'reverse' if reverse else 'forward'}:{start + limit}"
    return ActionResult(answer)


def _start(token: str | None, reverse: bool, count: int, invalid: type[Exception]) -> int:
    """Where a page starts (a token made for the other order, or beyond the history, is refused)."""
    if not token:
        return 0
    order, _, position = token.partition(":")
    if order != ("reverse" if reverse else "forward") or not position.isdigit() or int(position) > count:
        raise invalid("Invalid Token: the nextToken is not one GetExecutionHistory gave for this order")
    return int(position)


def _without_data(event: dict[str, Any]) -> dict[str, Any]:
    return {
        key: {name: value for name, value in detail.items() if name not in _DATA_FIELDS}
        if key.endswith("EventDetails") and isinstance(detail, dict)
        else detail
        for key, detail in event.items()
    }
