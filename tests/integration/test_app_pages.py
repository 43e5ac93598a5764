"""The Streamlit pages, run by AppTest against the session's local AWS: place an order, watch it succeed."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import PROJECT_ROOT, operator_caller, poll


@pytest.fixture
def app(local_aws: Any) -> AppTest:
    import streamlit as st

    st.cache_data.clear()
    at = AppTest.from_file(str(PROJECT_ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/place.py").run()
    return at


def texts(at: AppTest) -> str:
    """What the page says, with the markdown escapes of user and AWS text removed."""
    shown = (str(element.value) for kind in ("markdown", "caption", "error", "info") for element in getattr(at, kind))
    return "\n".join(shown).replace("\\", "")


def test_an_order_placed_in_the_form_reaches_succeeded_and_shows_its_steps(app: AppTest) -> None:
    app.text_input(key="customer_name").input("Ada Lovelace")
    app.text_input(key="customer_email").input("ada@example.com")
    app.number_input(key=f"quantity_{app.session_state.line_keys[0]}").set_value(2)
    app.button(key="place_order").click().run()
    assert not app.exception
    order_id = app.session_state.watched[0]
    assert order_id.startswith("ord_")

    def succeeded() -> bool:
        app.run()
        return "SUCCEEDED" in texts(app) and "NotifyConfirmed: succeeded" in texts(app)

    poll(succeeded, timeout=30, interval=0.5, what="the order to succeed on the page")
    assert "ValidateOrder: succeeded → ProcessPayment: succeeded" in texts(app)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Ada\x07", "must not contain control characters (U+0007)"),
        ("Ada\u202eecilA", "must not contain bidirectional override or isolate characters (U+202E)"),
        ("\u200b\u200b", "must contain a visible character"),
    ],
)
def test_bad_input_is_explained_next_to_the_fields_and_nothing_is_sent(app: AppTest, name: str, message: str) -> None:
    app.text_input(key="customer_name").input(name)
    app.text_input(key="customer_email").input("ada-at-example")
    app.button(key="place_order").click().run()
    errors = [str(element.value).replace("\\", "") for element in app.error]  # shown as text: markdown escaped
    assert message in errors
    assert any(error.startswith("must look like name@example.com") for error in errors)
    assert "watched" not in app.session_state
    assert not app.exception


def test_the_order_page_shows_the_timeline_of_a_deep_linked_order(app: AppTest) -> None:
    import backend
    from lambdas.domain.order import OrderRequest, PaymentMethod

    request = OrderRequest(
        customer_name="Bob <b>bold</b>",
        customer_email="bob@example.com",
        lines=[{"sku": "MUG-CERAMIC", "quantity": 1}],
        payment_method=PaymentMethod.DECLINED,
    )
    order_id = backend.submit_orders([request], caller=operator_caller())[0].order_id
    poll(lambda: _terminal(order_id), timeout=30, what="the order to finish")
    app.query_params["order"] = order_id
    app.switch_page("pages/order.py").run()
    assert not app.exception
    assert "DECLINED" in texts(app)
    assert "PaymentDeclined" in texts(app)
    states = app.dataframe[0].value["State"].tolist()
    assert states == ["ValidateOrder", "ProcessPayment", "PaymentApproved?", "NotifyDeclined", "PaymentDeclined"]
    # The customer's name travels in the input JSON, never as rendered HTML or markdown.
    assert all("<b>" not in str(element.value) for element in app.markdown)


def test_an_unknown_order_id_says_so_and_a_malformed_one_names_the_rule(app: AppTest) -> None:
    from lambdas.domain.order import new_order_id

    order_id = new_order_id()
    app.query_params["order"] = order_id
    app.switch_page("pages/order.py").run()
    assert not app.exception
    assert "UNKNOWN" in texts(app)
    assert f"Unknown order id {order_id}: it has no workflow execution, is not queued" in texts(app)
    app.query_params["order"] = "ord_nosuchorder"
    app.switch_page("pages/order.py").run()
    assert not app.exception
    assert "An order id must be 'ord_' and a 26-character lower-case ULID" in texts(app)


def test_the_executions_search_says_why_an_order_id_has_no_execution(app: AppTest) -> None:
    from lambdas.domain.order import new_order_id

    order_id = new_order_id()
    app.switch_page("pages/executions.py").run()
    app.text_input(key="exec_order_id").input(order_id).run()
    assert not app.exception
    assert f"Unknown order id {order_id}: it has no workflow execution" in texts(app)


def _terminal(order_id: str) -> bool:
    import backend

    try:
        return backend.get_order(order_id).outcome.terminal
    except backend.NotFound:
        return False


def test_the_sidebar_says_when_the_local_aws_restarted_and_a_reset_needs_confirming(local_aws: Any) -> None:
    import streamlit as st

    from backend import sandbox

    def sidebar_after(seen_boot_id: str) -> Any:
        st.cache_data.clear()
        at = AppTest.from_file(str(PROJECT_ROOT / "streamlit_app.py"), default_timeout=60)
        at.session_state["sandbox_boot_id"] = seen_boot_id  # the start this session saw last
        at.run()
        assert not at.exception
        return at.sidebar

    restarted = sidebar_after("an-earlier-start")
    assert any("The local AWS restarted at" in str(warning.value) for warning in restarted.warning)
    assert restarted.button(key="sandbox_reset").disabled  # until "reset" is typed

    current = sandbox.status()
    assert current is not None
    assert not any("restarted" in str(warning.value) for warning in sidebar_after(current.boot_id).warning)


def test_a_cold_start_draws_the_page_in_the_shape_of_every_later_run(own_local_aws: Any) -> None:
    import streamlit as st

    st.cache_data.clear()
    at = AppTest.from_file(str(PROJECT_ROOT / "streamlit_app.py"), default_timeout=90)
    at.switch_page("pages/place.py").run()  # its first run starts the local AWS and waits for it
    assert not at.exception
    first = [type(element).__name__ for element in at.main.children.values()]
    at.run()
    assert not at.exception
    # An element only the first run drew would shift every later one, and the browser would redraw them afresh.
    assert [type(element).__name__ for element in at.main.children.values()] == first
