"""The order schema, the catalogue and the business rules: the one source of truth for every boundary."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from ulid import ULID

from lambdas.domain.boundary import parse_strict

MAX_LINES = 50
MAX_QUANTITY = 100
MAX_TOTAL_CENTS = 1_000_000
MAX_NAME_LENGTH = 100
MAX_EMAIL_LENGTH = 254
CURRENCY = "USD"

# ASCII only: an international domain is written in its xn-- form, and no look-alike letters get through.
_EMAIL_SHAPE = re.compile(r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$")
# A ULID in lower-case Crockford base32; its first character carries only 3 bits of the 48-bit timestamp.
_ORDER_ID_SHAPE = r"^ord_[0-7][0-9a-hjkmnp-tv-z]{25}$"


class Product(BaseModel):
    """A product the shop sells, priced in integer cents."""

    model_config = ConfigDict(frozen=True)

    sku: str
    name: str
    unit_price_cents: int
    stock: int


CATALOGUE: dict[str, Product] = {
    p.sku: p
    for p in (
        Product(sku="COFFEE-1KG", name="Coffee beans, 1 kg", unit_price_cents=2_450, stock=5_000),
        Product(sku="MUG-CERAMIC", name="Ceramic mug", unit_price_cents=1_200, stock=5_000),
        Product(sku="GRINDER-HAND", name="Hand grinder", unit_price_cents=6_900, stock=5_000),
        Product(sku="KETTLE-GOOSENECK", name="Gooseneck kettle", unit_price_cents=8_900, stock=5_000),
        Product(sku="FILTER-PAPERS", name="Filter papers (100)", unit_price_cents=650, stock=5_000),
        Product(sku="ESPRESSO-MACHINE", name="Espresso machine", unit_price_cents=74_900, stock=5_000),
        # Scarce on purpose: ordering more than 2 is a business rejection a demo can trigger.
        Product(sku="LIMITED-PRINT", name="Signed limited print", unit_price_cents=12_000, stock=2),
    )
}


class PaymentMethod(StrEnum):
    """Test cards of the simulated payment gateway; each has a deterministic outcome."""

    VISA = "tok_visa"
    MASTERCARD = "tok_mastercard"
    DECLINED = "tok_declined"
    INSUFFICIENT_FUNDS = "tok_insufficient_funds"
    TIMEOUT_ONCE = "tok_timeout_once"
    TIMEOUT_ALWAYS = "tok_timeout_always"


PAYMENT_METHOD_LABELS: dict[PaymentMethod, str] = {
    PaymentMethod.VISA: "Visa test card (approves)",
    PaymentMethod.MASTERCARD: "Mastercard test card (approves)",
    PaymentMethod.DECLINED: "Declined card (payment declined)",
    PaymentMethod.INSUFFICIENT_FUNDS: "Insufficient funds (payment declined)",
    PaymentMethod.TIMEOUT_ONCE: "Gateway times out once (retried, then approves)",
    PaymentMethod.TIMEOUT_ALWAYS: "Gateway always times out (retries exhausted)",
}


# Bidirectional embeddings, overrides, isolates and marks: they reorder what a reader sees (U+202E shows "gpj.exe"
# as "exe.jpg").
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Characters that end a line, or are no character at all (unpaired surrogates).
_LINE_BREAKING = frozenset({"Cc", "Zl", "Zp", "Cs"})
# Nothing visible: separators, controls, format characters (zero-width spaces and joiners among them), combining
# marks on their own, and the default-ignorable Hangul fillers, which are letters that draw nothing.
_INVISIBLE = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Mn", "Me"})
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")


def _code_point(char: str) -> str:
    return f"U+{ord(char):04X}"


def _clean_text(value: str, max_length: int) -> str:
    """NFC-normalise and trim a single line of text; refuse line breaks, bidi controls and invisible-only text."""
    value = unicodedata.normalize("NFC", value)
    if breaking := next((ch for ch in value if unicodedata.category(ch) in _LINE_BREAKING), None):
        raise PydanticCustomError(
            "control_characters", "must not contain control characters ({char})", {"char": _code_point(breaking)}
        )
    if bidi := next((ch for ch in value if ch in _BIDI_CONTROLS), None):
        raise PydanticCustomError(
            "bidi_characters",
            "must not contain bidirectional override or isolate characters ({char})",
            {"char": _code_point(bidi)},
        )
    value = value.strip()
    if all(unicodedata.category(ch) in _INVISIBLE or ch in _BLANK_LETTERS for ch in value):
        raise PydanticCustomError("nothing_visible", "must contain a visible character")
    if len(value) > max_length:  # NFC can lengthen text (a few characters decompose)
        raise PydanticCustomError(
            "string_too_long", "must have at most {max_length} characters", {"max_length": max_length}
        )
    return value


def _name(value: str) -> str:
    return _clean_text(value, MAX_NAME_LENGTH)


def _email(value: str) -> str:
    value = _clean_text(value, MAX_EMAIL_LENGTH).lower()
    if not _EMAIL_SHAPE.fullmatch(value):
        raise PydanticCustomError("email_shape", "must look like name@example.com (ASCII; a domain in its xn-- form)")
    return value


def _known_sku(value: str) -> str:
    if value not in CATALOGUE:
        # Quoted with escapes: the message is shown to people, and the value is not checked as text.
        raise PydanticCustomError("unknown_product", "unknown product {sku}", {"sku": ascii(value)})
    return value


# The raw length bound keeps the work of the checks after it bounded.
CustomerName = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH), AfterValidator(_name)]
CustomerEmail = Annotated[str, StringConstraints(min_length=1, max_length=MAX_EMAIL_LENGTH), AfterValidator(_email)]
Sku = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40), AfterValidator(_known_sku)]
Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
OrderId = Annotated[str, StringConstraints(pattern=_ORDER_ID_SHAPE)]


def new_order_id() -> str:
    """A URL-safe, unique, time-sortable order id: 'ord_' and a ULID in lower case."""
    return "ord_" + str(ULID()).lower()


def placed_at(order_id: str) -> datetime:
    """When an order id was made: the timestamp of its ULID."""
    return ULID.from_str(order_id.removeprefix("ord_")).datetime


def format_money(cents: int, currency: str = CURRENCY) -> str:
    """Render integer cents as text, e.g. 123456 -> 'USD 1,234.56'."""
    return f"{currency} {cents // 100:,}.{cents % 100:02d}"


def _check_total(total_cents: int) -> int:
    if total_cents <= 0:
        raise PydanticCustomError("total_range", "order total must be greater than 0")
    if total_cents > MAX_TOTAL_CENTS:
        raise PydanticCustomError(
            "total_range",
            "order total {total} exceeds the maximum of {maximum}",
            {"total": format_money(total_cents), "maximum": format_money(MAX_TOTAL_CENTS)},
        )
    return total_cents


class LineRequest(BaseModel):
    """One line as staff enter it: a product and how many."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    sku: Sku
    quantity: Quantity


class OrderRequest(BaseModel):
    """An order as staff enter it, before it gets an id and prices."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    customer_name: CustomerName
    customer_email: CustomerEmail
    lines: list[LineRequest] = Field(min_length=1, max_length=MAX_LINES)
    payment_method: PaymentMethod = PaymentMethod.VISA

    @property
    def total_cents(self) -> int:
        return sum(CATALOGUE[line.sku].unit_price_cents * line.quantity for line in self.lines)

    @model_validator(mode="after")
    def _total_in_range(self) -> OrderRequest:
        _check_total(self.total_cents)
        return self


class LineItem(BaseModel):
    """One priced line of a placed order."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    sku: Sku
    quantity: Quantity
    unit_price_cents: int = Field(gt=0)

    @property
    def line_total_cents(self) -> int:
        return self.unit_price_cents * self.quantity


class Order(BaseModel):
    """A placed order: what travels on the queue and through the workflow."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    order_id: OrderId
    created_at: AwareDatetime
    customer_name: CustomerName
    customer_email: CustomerEmail
    lines: list[LineItem] = Field(min_length=1, max_length=MAX_LINES)
    currency: Literal["USD"] = CURRENCY
    total_cents: int
    payment_method: PaymentMethod

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _total_matches_lines(self) -> Order:
        _check_total(self.total_cents)
        lines_total = sum(line.line_total_cents for line in self.lines)
        if lines_total != self.total_cents:
            raise PydanticCustomError(
                "total_mismatch",
                "total {total} does not equal the sum of the lines {lines_total}",
                {"total": format_money(self.total_cents), "lines_total": format_money(lines_total)},
            )
        return self

    @classmethod
    def place(cls, request: OrderRequest, *, now: datetime | None = None) -> Order:
        """Give a request an id, a timestamp and the catalogue's current prices."""
        return cls(
            order_id=new_order_id(),
            created_at=now or datetime.now(UTC),
            customer_name=request.customer_name,
            customer_email=request.customer_email,
            lines=[
                LineItem(
                    sku=line.sku,
                    quantity=line.quantity,
                    unit_price_cents=CATALOGUE[line.sku].unit_price_cents,
                )
                for line in request.lines
            ],
            total_cents=request.total_cents,
            payment_method=request.payment_method,
        )


class FieldError(BaseModel):
    """One problem with the input, addressed by a dotted field path."""

    field: str
    message: str


def _json_kind(value: object) -> str:
    """What a JSON value is, in words ('a boolean', 'a string', ...)."""
    kinds = (
        (bool, "a boolean"),
        (int, "a number"),
        (float, "a number with a fraction or exponent"),
        (str, "a string"),
        (list, "a list"),
        (dict, "an object"),
    )
    return next((kind for types, kind in kinds if isinstance(value, types)), "null")


# Pydantic's message types -> the rule in our words; {kind} is what the input was instead.
_RULES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "int_type": "must be an integer, not {kind}",
    "string_type": "must be a string, not {kind}",
    "model_type": "must be an object, not {kind}",
    "model_attributes_type": "must be an object, not {kind}",
    "dict_type": "must be an object, not {kind}",
    "list_type": "must be a list, not {kind}",
    "datetime_type": "must be an ISO 8601 date and time string, not {kind}",
    "datetime_from_date_parsing": "must be an ISO 8601 date and time ({error})",
    "timezone_aware": "must include a time zone",
    "string_too_short": "must not be empty",  # every minimum in the schema is 1
    "string_too_long": "must have at most {max_length} characters",
    "too_short": "must not be empty",
    "too_long": "must have at most {max_length} items",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "less_than_equal": "must be at most {le}",
    "string_pattern_mismatch": "must be 'ord_' and a 26-character lower-case ULID",
}


def describe_errors(error: ValidationError) -> list[FieldError]:
    """Turn a pydantic ValidationError into messages that name the field and the rule it breaks."""
    described = []
    for item in error.errors(include_url=False):
        field = ".".join(str(part) for part in item["loc"]) or "order"
        rule = _RULES.get(item["type"])
        if rule is None and item["type"] == "enum":
            rule = "must be one of {expected}"
        context = {**item.get("ctx", {}), "kind": _json_kind(item.get("input"))}
        message = rule.format(**context) if rule else item["msg"]
        described.append(FieldError(field=field, message=message))
    return described


def summarize_errors(error: ValidationError) -> str:
    """All problems in one line, e.g. 'customer_email: must look like name@example.com; ...'."""
    return "; ".join(f"{e.field}: {e.message}" for e in describe_errors(error))


class OrderInvalid(Exception):
    """The order breaks a schema or business rule; the workflow rejects it."""


def business_rule_violations(order: Order) -> list[str]:
    """Rules checked when the workflow runs, against the catalogue as it is then."""
    problems = []
    ordered: dict[str, int] = {}
    for index, line in enumerate(order.lines):
        product = CATALOGUE[line.sku]
        ordered[line.sku] = ordered.get(line.sku, 0) + line.quantity
        if line.unit_price_cents != product.unit_price_cents:
            problems.append(
                f"lines.{index}: price {format_money(line.unit_price_cents)} for {line.sku} does not match "
                f"the current price {format_money(product.unit_price_cents)}"
            )
    for sku, quantity in ordered.items():
        stock = CATALOGUE[sku].stock
        if quantity > stock:
            problems.append(f"only {stock} of {sku} in stock, {quantity} ordered")
    return problems


def validate_order(payload: object) -> Order:
    """Parse an untrusted order and apply every rule; raise OrderInvalid saying what is wrong."""
    try:
        order = parse_strict(Order, payload)
    except ValidationError as exc:
        raise OrderInvalid(summarize_errors(exc)) from None
    problems = business_rule_violations(order)
    if problems:
        raise OrderInvalid("; ".join(problems))
    return order
