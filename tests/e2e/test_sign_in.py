"""Sign-in in a real browser against a real OpenID Connect provider (oidc-provider-mock): viewer, staff, operator,
a person without a role, and a sign-in that grew too old."""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

import backend
from backend import aws, identity, queues
from tests.conftest import before_purge, operator_caller, order_request, poll
from tests.e2e.conftest import free_port, screenshot, serve_app

# Authlib and the mock warn about their own deprecated internals.
pytestmark = [pytest.mark.e2e, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

USERS = {
    "nobody": {"email": "nora.nobody@example.com", "name": "Nora Nobody", "cognito:groups": []},
    "viewer": {"email": "vera.viewer@example.com", "name": "Vera Viewer", "cognito:groups": ["viewer"]},
    "staff": {"email": "sam.staff@example.com", "name": "Sam Staff", "cognito:groups": ["staff"]},
    "operator": {"email": "olga.operator@example.com", "name": "Olga Operator", "cognito:groups": ["operator"]},
}


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    """A local OpenID Connect provider on a free port; it accepts any client id and secret."""
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@contextlib.contextmanager
def auth_app(issuer: str, folder: Path, log_name: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """The app with sign-in on (ORDERS_AUTH=on) and an [auth] secrets file outside the repository."""
    port = free_port()
    secrets_file = folder / "secrets.toml"
    secrets_file.write_text(
        "[auth]\n"
        f'redirect_uri = "http://localhost:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_urlsafe(48)}"\n'
        'client_id = "order-dashboard"\n'
        'client_secret = "e2e-client-secret"\n'
        f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    with serve_app(port, log_name, ["--secrets.files", str(secrets_file)], {"ORDERS_AUTH": "on", **(env or {})}):
        # Cookies belong to a host name: the browser uses the one in redirect_uri.
        yield f"http://localhost:{port}"


@pytest.fixture(scope="module")
def auth_app_url(local_aws: Any, issuer: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app with sign-in on."""
    with auth_app(issuer, tmp_path_factory.mktemp("auth"), "streamlit-auth.log") as url:
        yield url


def set_claims(issuer: str, sub: str, claims: dict[str, Any]) -> None:
    """The claims the next sign-in as sub gets (the mock's PUT /users/{sub})."""
    body = json.dumps({**claims, "email_verified": True}).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{issuer}/users/{sub}", data=body, method="PUT", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        assert response.status == 204


@pytest.fixture
def authorize(browser: Any, issuer: str) -> Iterator[Callable[..., Any]]:
    """A function that opens a fresh browser at an app's path and signs in there as one of USERS; returns the tab."""
    contexts = []

    def sign_in(who: str, app_url: str, path: str = "") -> Any:
        sub = f"{who}-subject"
        set_claims(issuer, sub, USERS[who])
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        # The mock's pages load a stylesheet from a CDN; nothing leaves this machine.
        context.route(re.compile(r"^https?://(?!localhost|127\.0\.0\.1)"), lambda route: route.abort())
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{app_url}/{path}")
        submit_sign_in(page, sub)
        return page

    yield sign_in
    for context in contexts:
        context.close()


def submit_sign_in(page: Any, sub: str) -> None:
    """From the app's sign-in page through the provider's form, as sub."""
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.locator("[data-testid='stSidebar']")).to_have_count(0)  # no page, no navigation before sign-in
    page.get_by_role("button", name="Sign in").click()
    page.locator("input[name=sub]").fill(sub)
    page.get_by_role("button", name="Authorize").click()


@pytest.fixture
def signed_in(authorize: Callable[..., Any], auth_app_url: str) -> Callable[..., Any]:
    """A function that opens a fresh browser, signs in as the given role, and returns the tab on the home page."""

    def sign_in(role: str, path: str = "") -> Any:
        page = authorize(role, auth_app_url, path)
        expect(page.get_by_text(f"{USERS[role]['email']} · role {role}")).to_be_visible()
        return page

    return sign_in


def open_page(page: Any, title: str, heading: str) -> None:
    page.get_by_role("link", name=title).first.click()
    expect(page.get_by_role("heading", name=heading)).to_be_visible()


def test_a_viewer_sees_the_pages_but_no_destructive_controls(signed_in: Any) -> None:
    page = signed_in("viewer", "queues")  # a deep link asks to sign in first, like every page
    open_page(page, "Queues", "Queues")
    expect(page.get_by_text("needs the operator role; you are signed in as viewer").first).to_be_visible()
    expect(page.get_by_text("Purge a queue")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Redrive|Peek"))).to_have_count(0)
    open_page(page, "Place order", "Place an order")
    expect(page.get_by_text("Placing orders needs the staff role")).to_be_visible()
    expect(page.get_by_role("button", name="Place order")).to_be_disabled()
    screenshot(page, "signed-in-viewer")

    # The backend refuses the same caller by itself, whatever the page shows.
    viewer = identity.caller_from_claims({"sub": "viewer-subject", **USERS["viewer"]})
    dlq_name = queues.queue_name(aws.resources().dead_letter_queue_url or "")
    with pytest.raises(identity.Forbidden, match="needs the operator role"):
        queues.purge("dlq", viewer, dlq_name)


def test_staff_place_orders_but_do_not_purge(signed_in: Any) -> None:
    page = signed_in("staff")
    open_page(page, "Place order", "Place an order")
    page.get_by_label("Customer name").fill("Sam Staff")
    page.get_by_label("Customer email").fill("sam.customer@example.com")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("link", name=re.compile(r"Open ord_[0-9a-z]{26}"))).to_be_visible()
    open_page(page, "Queues", "Queues")
    expect(page.get_by_text("needs the operator role; you are signed in as staff").first).to_be_visible()
    expect(page.get_by_text("Purge a queue")).to_have_count(0)


def test_an_operator_purges_is_audited_by_email_and_signs_out(signed_in: Any, tmp_path: Path) -> None:
    sqs = aws.client("sqs")
    dlq_url = aws.resources().dead_letter_queue_url or ""
    sqs.send_message(QueueUrl=dlq_url, MessageBody="poison for the e2e purge")
    poll(lambda: queues.queue_stats("dlq").depth >= 1, timeout=10, what="the message in the DLQ")
    dlq_name = queues.queue_name(dlq_url)

    page = signed_in("operator")
    open_page(page, "Queues", "Queues")
    page.get_by_text("Purge a queue").click()
    page.get_by_label(f"Type {dlq_name} to confirm").fill(dlq_name)
    page.get_by_label(f"Type {dlq_name} to confirm").press("Enter")
    before_purge(dlq_url)
    page.get_by_role("button", name="Purge", exact=True).click()
    expect(page.get_by_text(re.compile(rf"Purged {re.escape(dlq_name)} \(\d+ messages\)"))).to_be_visible()
    audit_table = page.locator("[data-testid='stDataFrame']").last
    expect(audit_table).to_contain_text(USERS["operator"]["email"])
    expect(audit_table).to_contain_text("succeeded")  # the purge's intent joined with its outcome
    screenshot(page, "signed-in-operator-purge")
    assert queues.queue_stats("dlq").visible == 0

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="End session").click()  # the provider's own sign-out page
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_text(USERS["operator"]["email"])).to_have_count(0)


def test_a_person_without_a_role_is_refused_and_sees_no_order_data(
    authorize: Callable[..., Any], auth_app_url: str
) -> None:
    (order,) = backend.submit_orders([order_request()], caller=operator_caller())
    page = authorize("nobody", auth_app_url, f"order?order={order.order_id}")  # a deep link to an order

    refusal = page.get_by_text("but has no role in this dashboard; ask an administrator to add you to the viewer")
    expect(refusal).to_be_visible()
    expect(page.get_by_text(f"Signed in as {USERS['nobody']['email']}")).to_be_visible()
    expect(page.locator("[data-testid='stSidebar']")).to_have_count(0)  # no navigation, no identity, no sandbox
    for data in ("stDataFrame", "stMetric", "stJson", "stPlotlyChart"):
        expect(page.locator(f"[data-testid='{data}']")).to_have_count(0)
    expect(page.get_by_text(order.order_id)).to_have_count(0)
    expect(page.get_by_text("Grace Hopper")).to_have_count(0)  # the customer's name
    screenshot(page, "signed-in-no-role")
    page.goto(f"{auth_app_url}/queues")
    expect(refusal).to_be_visible()
    expect(page.locator("[data-testid='stDataFrame']")).to_have_count(0)

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="End session").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


@pytest.fixture(scope="module")
def short_sign_in_app_url(local_aws: Any, issuer: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app with sign-in on, where a sign-in lasts 18 s."""
    folder = tmp_path_factory.mktemp("short-auth")
    with auth_app(issuer, folder, "streamlit-auth-short.log", {"ORDERS_AUTH_MAX_AGE_HOURS": "0.005"}) as url:
        yield url


def test_an_old_sign_in_is_ended_and_the_next_one_brings_fresh_groups(
    authorize: Callable[..., Any], issuer: str, short_sign_in_app_url: str
) -> None:
    page = authorize("staff", short_sign_in_app_url)
    expect(page.get_by_text(f"{USERS['staff']['email']} · role staff")).to_be_visible()
    set_claims(issuer, "staff-subject", {**USERS["staff"], "cognito:groups": ["operator"]})  # promoted meanwhile

    def asked_to_sign_in_again() -> bool:
        page.reload()  # a rerun; past 18 s it ends the sign-in with st.logout(): the provider's sign-out page
        end_session = page.get_by_role("button", name="End session")
        identity_shown = page.get_by_text(f"{USERS['staff']['email']} · role")
        expect(end_session.or_(identity_shown)).to_be_visible()
        return end_session.is_visible()

    poll(asked_to_sign_in_again, timeout=90, interval=2, what="the sign-in to be ended")
    page.get_by_role("button", name="End session").click()
    expect(page.get_by_text("A sign-in lasts 0.005 h; after that you are asked to sign in again")).to_be_visible()
    submit_sign_in(page, "staff-subject")
    expect(page.get_by_text(f"{USERS['staff']['email']} · role operator")).to_be_visible()  # the fresh token's
