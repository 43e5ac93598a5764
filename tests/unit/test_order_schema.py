"""The shared order schema and business rules: every boundary relies on these messages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from lambdas.domain.boundary import parse_strict
from lambdas.domain.order import (
    MAX_LINES,
    Order,
    OrderInvalid,
    OrderRequest,
    PaymentMethod,
    business_rule_violations,
    describe_errors,
    format_money,
    new_order_id,
    placed_at,
    validate_order,
)


def request(**changes: object) -> dict:
    base = {
        "customer_name": "Ada Lovelace",
        "customer_email": "ada@example.com",
        "lines": [{"sku": "MUG-CERAMIC", "quantity": 2}],
    }
    return base | changes


def errors_of(data: dict) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        parse_strict(OrderRequest, data)
    return {error.field: error.message for error in describe_errors(caught.value)}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"customer_name": ""}, "customer_name", "must not be empty"),
        ({"customer_name": "   "}, "customer_name", "must contain a visible character"),
        ({"customer_name": "x" * 101}, "customer_name", "at most 100 characters"),
        ({"customer_name": "Ada\nLovelace"}, "customer_name", "must not contain control characters (U+000A)"),
        ({"customer_name": "Ada\x00"}, "customer_name", "must not contain control characters (U+0000)"),
        ({"customer_name": "Ada\u2028"}, "customer_name", "must not contain control characters (U+2028)"),
        ({"customer_name": "Ada\u202eecilA"}, "customer_name", "bidirectional override or isolate characters (U+202E"),
        ({"customer_name": "\u2067Ada\u2069"}, "customer_name", "bidirectional override or isolate characters (U+2067"),
        ({"customer_name": "\u200b\u200b\u200b"}, "customer_name", "must contain a visible character"),
        ({"customer_name": "\u3164\ufeff\u2060 \u0301"}, "customer_name", "must contain a visible character"),
        ({"customer_name": 42}, "customer_name", "must be a string, not a number"),
        ({"customer_email": "ada"}, "customer_email", "must look like name@example.com"),
        ({"customer_email": "ada@example"}, "customer_email", "must look like name@example.com"),
        ({"customer_email": "a b@example.com"}, "customer_email", "must look like name@example.com"),
        ({"customer_email": "a\u200b@example.com"}, "customer_email", "must look like name@example.com"),
        ({"customer_email": "ada@ex\u0430mple.com"}, "customer_email", "must look like name@example.com"),
        ({"customer_email": "a@" + "x" * 250 + ".com"}, "customer_email", "at most 254 characters"),
        ({"lines": []}, "lines", "must not be empty"),
        ({"lines": [{"sku": "MUG-CERAMIC", "quantity": 1}] * (MAX_LINES + 1)}, "lines", "must have at most 50 items"),
        ({"lines": {"sku": "MUG-CERAMIC", "quantity": 1}}, "lines", "must be a list, not an object"),
        ({"lines": [{"sku": "MUG-CERAMIC", "quantity": 0}]}, "lines.0.quantity", "must be at least 1"),
        ({"lines": [{"sku": "MUG-CERAMIC", "quantity": 101}]}, "lines.0.quantity", "must be at most 100"),
        ({"lines": [{"sku": "MUG-CERAMIC", "quantity": True}]}, "lines.0.quantity", "an integer, not a boolean"),
        ({"lines": [{"sku": "MUG-CERAMIC", "quantity": "3"}]}, "lines.0.quantity", "must be an integer, not a string"),
        ({"lines": [{"sku": "MUG-CERAMIC", "quantity": 3.0}]}, "lines.0.quantity", "not a number with a fraction"),
        ({"lines": [{"sku": "MUG-CERAMIC", "quantity": None}]}, "lines.0.quantity", "must be an integer, not null"),
        ({"lines": [{"sku": "MUG-CERAMIC", "quantity": 1, "discount": 1}]}, "lines.0.discount", "not a known field"),
        ({"lines": [{"sku": "NOPE", "quantity": 1}]}, "lines.0.sku", "unknown product 'NOPE'"),
        ({"lines": [{"sku": "\u202eX", "quantity": 1}]}, "lines.0.sku", "unknown product '\\u202eX'"),
        ({"lines": [{"sku": "ESPRESSO-MACHINE", "quantity": 14}]}, "order", "exceeds the maximum of USD 10,000.00"),
        ({"payment_method": "tok_stolen"}, "payment_method", "must be one of 'tok_visa', 'tok_mastercard'"),
        ({"payment_method": 4242424242424242}, "payment_method", "must be one of 'tok_visa'"),
        ({"coupon": "FREE"}, "coupon", "is not a known field"),
    ],
)
def test_invalid_requests_say_what_is_wrong(changes: dict, field: str, message: str) -> None:
    errors = errors_of(request(**changes))
    assert field in errors, errors
    assert message in errors[field]


@pytest.mark.parametrize("missing", ["customer_name", "customer_email", "lines"])
def test_missing_fields_are_required(missing: str) -> None:
    data = request()
    del data[missing]
    assert errors_of(data) == {missing: "is required"}


@pytest.mark.parametrize(("total_cents", "accepted"), [(1_000_000, True), (1_000_001, False)])
def test_order_total_limit_is_inclusive(total_cents: int, accepted: bool) -> None:
    data = Order.place(OrderRequest.model_validate(request())).model_dump(mode="json")
    data |= {
        "lines": [{"sku": "ESPRESSO-MACHINE", "quantity": 1, "unit_price_cents": total_cents}],
        "total_cents": total_cents,
    }
    if accepted:
        assert parse_strict(Order, data).total_cents == total_cents
    else:
        with pytest.raises(ValidationError, match=re.escape("exceeds the maximum of USD 10,000.00")):
            parse_strict(Order, data)


def test_placing_prices_lines_from_the_catalogue_in_integer_cents() -> None:
    order = Order.place(
        OrderRequest.model_validate(
            request(lines=[{"sku": "COFFEE-1KG", "quantity": 3}, {"sku": "MUG-CERAMIC", "quantity": 1}])
        )
    )
    assert [line.unit_price_cents for line in order.lines] == [2_450, 1_200]
    assert order.total_cents == 3 * 2_450 + 1_200
    assert isinstance(order.total_cents, int)
    assert order.created_at.tzinfo is not None
    assert order.created_at.utcoffset() == timedelta(0)
    assert order.payment_method is PaymentMethod.VISA


def test_text_is_normalised() -> None:
    order = OrderRequest.model_validate(request(customer_name="  Ada  ", customer_email=" Ada@Example.COM "))
    assert (order.customer_name, order.customer_email) == ("Ada", "ada@example.com")


def test_order_ids_are_unique_url_safe_and_sortable() -> None:
    ids = [new_order_id() for _ in range(500)]
    assert len(set(ids)) == 500
    assert all(re.fullmatch(r"ord_[0-7][0-9a-hjkmnp-tv-z]{25}", i) for i in ids)
    assert ids == sorted(ids)  # ids made later sort later, within a millisecond too


def test_an_order_id_tells_when_it_was_made() -> None:
    before = datetime.now(UTC)
    made = placed_at(new_order_id())
    assert before - timedelta(milliseconds=1) <= made <= datetime.now(UTC)


def test_order_round_trips_through_json_and_keeps_utc() -> None:
    order = Order.place(
        OrderRequest.model_validate(request()), now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    )
    again = Order.model_validate_json(order.model_dump_json())
    assert again == order
    assert again.created_at == datetime(2026, 1, 2, 1, 4, 5, tzinfo=UTC)


def test_order_rejects_a_total_that_does_not_add_up() -> None:
    data = Order.place(OrderRequest.model_validate(request())).model_dump(mode="json") | {"total_cents": 1}
    with pytest.raises(ValidationError, match="does not equal the sum of the lines"):
        parse_strict(Order, data)


def test_naive_timestamps_are_rejected() -> None:
    data = Order.place(OrderRequest.model_validate(request())).model_dump(mode="json") | {
        "created_at": "2026-01-01T00:00:00"
    }
    with pytest.raises(ValidationError, match="timezone"):
        parse_strict(Order, data)


def test_stock_is_checked_across_lines_of_the_same_product() -> None:
    two_lines = request(lines=[{"sku": "LIMITED-PRINT", "quantity": 2}, {"sku": "LIMITED-PRINT", "quantity": 1}])
    order = Order.place(OrderRequest.model_validate(two_lines))
    assert business_rule_violations(order) == ["only 2 of LIMITED-PRINT in stock, 3 ordered"]


def test_a_stale_price_is_a_business_rejection() -> None:
    data = Order.place(OrderRequest.model_validate(request())).model_dump(mode="json")
    data["lines"][0]["unit_price_cents"] = 999
    data["total_cents"] = 2 * 999
    with pytest.raises(OrderInvalid, match=re.escape("does not match the current price USD 12.00")):
        validate_order(data)


@pytest.mark.parametrize("payload", [None, "not an order", {}, {"order_id": "ord_x"}])
def test_validate_order_turns_garbage_into_order_invalid(payload: object) -> None:
    with pytest.raises(OrderInvalid):
        validate_order(payload)


def test_format_money() -> None:
    assert format_money(123_456) == "USD 1,234.56"
    assert format_money(5) == "USD 0.05"
