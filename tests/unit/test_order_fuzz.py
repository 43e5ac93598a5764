"""Fuzzing the shared schema: whatever it accepts is priced and round-trips; anything else is a ValidationError."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from lambdas.domain.boundary import parse_strict
from lambdas.domain.notification import NotificationRequest
from lambdas.domain.order import (
    CATALOGUE,
    MAX_TOTAL_CENTS,
    Order,
    OrderInvalid,
    OrderRequest,
    PaymentMethod,
    describe_errors,
    validate_order,
)
from lambdas.domain.payment import PaymentRequest

FUZZ = settings(max_examples=100, deadline=None)
MODELS: list[type[BaseModel]] = [OrderRequest, Order, PaymentRequest, NotificationRequest]

# Text that mixes ordinary letters with what the text rules are about: controls, bidi, zero-width, combining marks.
_TRICKY = ["\u202e", "\u2066", "\u200b", "\u200d", "\ufeff", "\u3164", "\u0301", "\n", "\t", " ", "\u2028", "e\u0301"]
texts = st.one_of(
    st.text(max_size=120),
    st.lists(st.one_of(st.sampled_from(_TRICKY), st.text(max_size=3)), max_size=12).map("".join),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
# Mostly well-formed parts (so that many requests are accepted), now and then a hostile one.
names = st.one_of(st.text(st.characters(categories=["L", "M", "N", "P", "Zs"]), min_size=1, max_size=110), texts)
emails = st.one_of(st.emails(), st.emails().map(str.upper), texts)
quantities = st.one_of(
    st.integers(1, 3), st.integers(1, 3), st.integers(-3, 120), st.booleans(), st.floats(), st.text()
)
skus = st.one_of(st.sampled_from(list(CATALOGUE)), st.sampled_from(list(CATALOGUE)).map(" {} ".format), texts)
lines = st.fixed_dictionaries({"sku": skus, "quantity": quantities})
requests = st.fixed_dictionaries(
    {
        "customer_name": names,
        "customer_email": emails,
        "lines": st.lists(lines, min_size=1, max_size=4) | st.lists(lines),
    },
    optional={
        "payment_method": st.sampled_from([m.value for m in PaymentMethod]) | json_values,
        "coupon": json_values,
    },
)


def rejected_with_named_fields(model: type[BaseModel], data: Any) -> BaseModel | None:
    """The model, or None after checking the rejection is a ValidationError whose every error has a message."""
    try:
        return parse_strict(model, data)
    except ValidationError as exc:
        errors = describe_errors(exc)
    assert errors
    assert all(error.field and error.message for error in errors)
    return None


@FUZZ
@given(requests)
@example(
    {
        "customer_name": " Zoe\u0308 ",
        "customer_email": "Zoe@Example.com",
        "lines": [{"sku": "MUG-CERAMIC", "quantity": 3}],
    }
)
def test_an_accepted_request_is_priced_from_the_catalogue_and_round_trips(data: dict) -> None:
    request = rejected_with_named_fields(OrderRequest, data)
    if request is None:
        return
    assert isinstance(request, OrderRequest)
    order = Order.place(request)
    expected = sum(
        CATALOGUE[line.sku].unit_price_cents * given_line["quantity"]
        for line, given_line in zip(request.lines, data["lines"], strict=True)
    )
    assert order.total_cents == expected == sum(line.line_total_cents for line in order.lines)
    assert type(order.total_cents) is int
    assert 0 < order.total_cents <= MAX_TOTAL_CENTS
    assert parse_strict(OrderRequest, request.model_dump_json()) == request
    assert parse_strict(Order, order.model_dump_json()) == order
    assert parse_strict(Order, json.loads(order.model_dump_json())) == order


@FUZZ
@given(st.sampled_from(MODELS), json_values)
def test_any_json_value_is_accepted_or_a_validation_error(model: type[BaseModel], value: Any) -> None:
    rejected_with_named_fields(model, value)


@FUZZ
@given(st.sampled_from(MODELS), st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_any_text_is_accepted_or_a_validation_error(model: type[BaseModel], text: str | bytes) -> None:
    rejected_with_named_fields(model, text)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    if isinstance(value, dict):
        return [prefix] + [p for key, child in value.items() for p in _paths(child, (*prefix, key))]
    if isinstance(value, list):
        return [prefix] + [p for index, child in enumerate(value) for p in _paths(child, (*prefix, index))]
    return [prefix]


def _replaced(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    copy = value.copy()
    copy[path[0]] = _replaced(value[path[0]], path[1:], new)
    return copy


@FUZZ
@given(st.data())
def test_a_mutated_order_is_accepted_or_a_validation_error(data: st.DataObject) -> None:
    request = OrderRequest(
        customer_name="Ada", customer_email="ada@example.com", lines=[{"sku": "COFFEE-1KG", "quantity": 2}]
    )
    event = {"order": json.loads(Order.place(request).model_dump_json()), "attempt": 0}
    path = data.draw(st.sampled_from(_paths(event)))
    mutated = _replaced(event, path, data.draw(json_values))
    rejected_with_named_fields(PaymentRequest, mutated)
    with contextlib.suppress(OrderInvalid):
        validate_order(mutated.get("order") if isinstance(mutated, dict) else mutated)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 100_000), st.sampled_from(["[", '{"a":']))
def test_nesting_of_any_depth_is_a_validation_error_not_a_crash(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    text = opener * depth + "1" + closer * depth
    assert rejected_with_named_fields(OrderRequest, text) is None
    nested: Any = 1
    for _ in range(min(depth, 5_000)):
        nested = [nested]
    assert rejected_with_named_fields(Order, nested) is None
