"""Place order: one order through the form, or a burst of realistic test orders, then watch them run."""

from __future__ import annotations

import functools
import uuid
from collections import Counter

import streamlit as st

import backend
from backend.demo import script as demo
from backend.demo.samples import random_requests
from backend.identity import Role
from lambdas.domain.order import (
    CATALOGUE,
    MAX_LINES,
    MAX_QUANTITY,
    PAYMENT_METHOD_LABELS,
    PaymentMethod,
    format_money,
)
from pages.ui import data, times
from pages.ui.frame import page_frame
from pages.ui.gate import allowed, caller, needs_role
from pages.ui.widgets import badge, guarded, plain

page_frame("Place an order")
may_place = allowed(Role.STAFF)
if not may_place:
    needs_role(Role.STAFF, "Placing orders")

if "line_keys" not in st.session_state:
    st.session_state.line_keys = [uuid.uuid4().hex[:8]]
field_errors: dict[str, list[str]] = st.session_state.get("field_errors", {})


def show_errors(*fields: str) -> None:
    """Validation messages for these fields, right below them (as text: a message may quote what was typed)."""
    for field in fields:
        for message in field_errors.get(field, []):
            st.error(plain(message), icon=":material/error:")


def add_line() -> None:
    st.session_state.line_keys.append(uuid.uuid4().hex[:8])


def remove_line(key: str) -> None:
    st.session_state.line_keys.remove(key)


with st.container(border=True):
    left, right = st.columns(2)
    with left:
        st.text_input("Customer name", key="customer_name", placeholder="Ada Lovelace")
        show_errors("customer_name")
    with right:
        st.text_input("Customer email", key="customer_email", placeholder="ada@example.com")
        show_errors("customer_email")

    st.markdown("**Lines**")
    lines = []
    for index, key in enumerate(st.session_state.line_keys):
        product_col, quantity_col, amount_col, remove_col = st.columns([5, 2, 2, 1], vertical_alignment="bottom")
        sku = product_col.selectbox(
            "Product",
            options=list(CATALOGUE),
            format_func=lambda s: f"{CATALOGUE[s].name} ({format_money(CATALOGUE[s].unit_price_cents)})",
            key=f"sku_{key}",
            label_visibility="visible" if index == 0 else "collapsed",
        )
        quantity = quantity_col.number_input(
            "Quantity",
            min_value=1,
            max_value=MAX_QUANTITY,
            value=1,
            key=f"quantity_{key}",
            label_visibility="visible" if index == 0 else "collapsed",
        )
        amount_col.text(format_money(CATALOGUE[sku].unit_price_cents * int(quantity)))
        remove_col.button(
            ":material/close:",
            key=f"remove_{key}",
            help="Remove this line",
            on_click=remove_line,
            args=(key,),
            disabled=len(st.session_state.line_keys) == 1,
        )
        lines.append({"sku": sku, "quantity": int(quantity)})
        show_errors(f"lines.{index}.sku", f"lines.{index}.quantity")
    st.button(
        "Add line",
        icon=":material/add:",
        on_click=add_line,
        disabled=len(st.session_state.line_keys) >= MAX_LINES,
    )
    show_errors("lines", "order")

    payment_method = st.selectbox(
        "Payment card (test cards of the simulated gateway)",
        options=list(PaymentMethod),
        format_func=lambda method: PAYMENT_METHOD_LABELS[method],
        key="payment_method",
    )
    total = sum(CATALOGUE[line["sku"]].unit_price_cents * line["quantity"] for line in lines)
    st.metric("Total", format_money(total))

    if st.button("Place order", type="primary", key="place_order", icon=":material/send:", disabled=not may_place):
        request = {
            "customer_name": st.session_state.customer_name,
            "customer_email": st.session_state.customer_email,
            "lines": lines,
            "payment_method": payment_method,
        }
        try:
            backend.validate_requests([request])
        except backend.InvalidOrders as exc:
            errors: dict[str, list[str]] = {}
            for error in exc.errors[0]:
                errors.setdefault(error.field, []).append(error.message)
            st.session_state.field_errors = errors
            st.rerun()
        st.session_state.field_errors = {}
        placed = guarded(backend.submit_orders, [request], caller=caller())
        st.session_state.watched = [placed[0].order_id]
        st.toast(f"Order {placed[0].order_id} queued", icon=":material/check_circle:")
        st.rerun()

with st.expander("Send test orders", icon=":material/bolt:"):
    st.caption(
        "Realistic random orders: mostly approved, with a few declined cards, gateway timeouts "
        "and over-stock rejections, so every branch of the workflow runs."
    )
    count = st.number_input("How many", min_value=1, max_value=1000, value=25, step=25, key="burst_count")
    if st.button("Send test orders", key="send_burst", icon=":material/rocket_launch:", disabled=not may_place):
        bar = st.progress(0.0, text="Sending…")
        placed = guarded(
            backend.submit_orders,
            random_requests(int(count)),
            progress=lambda done, total: bar.progress(done / total, text=f"Queued {done} of {total}"),
            caller=caller(),
        )
        st.session_state.watched = [order.order_id for order in placed]
        st.rerun()

with st.expander("Run the demo", icon=":material/play_circle:"):
    pace = (
        st.segmented_control(
            "Pace",
            options=list(demo.PACES),
            default="full",
            format_func=lambda name: f"{name.title()} ({demo.pace_text(name)})",
            key="demo_pace",
            help="Quick plays the same phases, shorter, in real time: the alarms still judge whole minutes.",
        )
        or "full"
    )
    timeline = demo.PACES[pace]
    st.caption(
        f"{demo.ORDERS_PER_SECOND} orders a second for {demo.script_seconds(timeline):.0f} s: "
        + " Then ".join(f"{phase.description[:-1].lower()} ({phase.seconds:.0f} s)." for phase in timeline)
        + " The outage trips the failed-executions alarm (see Overview); it clears a minute or two after the outage "
        "ends, and the demo keeps sending approved orders until it has (at most "
        f"{demo.CLEAR_SECONDS // 60} min {demo.CLEAR_SECONDS % 60} s more). Every page stays live meanwhile."
    )
    last = data.demo()
    running = last is not None and not last.status().finished
    start = st.button("Run the demo", key="run_demo", icon=":material/play_arrow:", disabled=running or not may_place)
    if start:
        try:
            demo.start(functools.partial(backend.submit_orders, caller=caller()), pace=pace)
        except backend.BackendError as exc:
            st.error(plain(str(exc)), icon=":material/error:")

    @st.fragment(run_every=2)
    def demo_status() -> None:
        running = data.demo()
        if running is None:
            st.caption("No demo has run since the app started.")
            return
        status = running.status()
        tripped = ", ".join(status.tripped) or "none yet"
        if status.error:
            st.error(plain(f"The demo stopped: {status.error}"), icon=":material/error:")
        elif status.finished:
            st.success(
                plain(f"Demo finished: {status.orders_sent} orders sent. Alarms it tripped: {tripped}."),
                icon=":material/check_circle:",
            )
        else:
            left = f"{status.seconds_left} s left" if status.seconds_left else "waiting for the alarms to clear"
            st.info(
                plain(
                    f"Step {status.step} of {len(running.timeline) + 1} ({status.phase}): {status.description} "
                    f"{status.orders_sent} orders sent, {left}. Alarms tripped: {tripped}."
                ),
                icon=":material/play_circle:",
            )

    demo_status()

watched: list[str] = st.session_state.get("watched", [])


def render_single(order_id: str) -> bool:
    """The one order just placed: its status and steps so far; True once it is terminal."""
    st.subheader("Your order")
    st.page_link(
        "pages/order.py", label=f"Open {order_id}", icon=":material/open_in_new:", query_params={"order": order_id}
    )
    try:
        detail = data.watch(order_id)
    except backend.BackendError as exc:
        st.error(plain(str(exc)))
        return False
    if isinstance(detail, backend.lookup.NoExecution):  # queued (N ahead), or purged or lost meanwhile
        badge(detail.kind.upper())
        st.caption(plain(detail.describe(times.zone())))
        return not isinstance(detail, backend.lookup.Queued)
    badge(detail.outcome.value)
    steps = [f"{run.name}: {run.status.lower()}" for run in detail.timeline]
    st.caption(" → ".join(steps) or "starting…")
    return detail.outcome.terminal


def render_burst(order_ids: list[str]) -> bool:
    """A burst of orders: how many reached each outcome; True once all are terminal."""
    st.subheader(f"{len(order_ids)} test orders")
    try:
        results = data.watch_burst(order_ids)
    except backend.BackendError as exc:
        st.error(plain(str(exc)))
        return False
    counts = Counter(summary.outcome.value for summary in results.values())
    finished = sum(count for outcome, count in counts.items() if backend.Outcome(outcome).terminal)
    st.progress(finished / len(order_ids), text=f"{finished} of {len(order_ids)} finished")
    columns = st.columns(max(1, len(counts)))
    for column, (outcome, number) in zip(columns, sorted(counts.items()), strict=False):
        column.metric(outcome.title().replace("_", " "), number)
    st.page_link("pages/orders.py", label="See them in Recent orders", icon=":material/list_alt:")
    return finished == len(order_ids)


if watched:
    done_key = "watched_done:" + watched[0]

    def live() -> None:
        done = render_single(watched[0]) if len(watched) == 1 else render_burst(watched)
        if done and not st.session_state.get(done_key):
            st.session_state[done_key] = True
            st.rerun()  # a full rerun re-creates the fragment without run_every: it stops refreshing

    st.fragment(run_every=None if st.session_state.get(done_key) else "1s")(live)()
