"""A web page from another origin, in a real browser, tries what a page could do against the local endpoint before
it became a trust boundary; every attempt is refused and the stack is untouched."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from backend import aws
from localaws import chaos, client
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, free_port

pytestmark = pytest.mark.e2e
REBIND_HOST = "rebind.test"  # resolved to 127.0.0.1 by the browser, as a DNS-rebinding attacker's name would be
# A stack with an inline function that would run the attacker's code on this machine.
EVIL_TEMPLATE = {
    "Resources": {
        "Evil": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": "evil-fn", "Runtime": "python3.13", "Handler": "index.handler",
                "Role": "arn:aws:iam::123456789012:role/evil",
                "Code": {"ZipFile": "import os\ndef handler(e, c):\n    os.system('touch /tmp/pwned')"},
            },
        }
    }
}  # fmt: skip


class _AttackerPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>an ordinary web page</title><p>nothing to see</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def attacker_url() -> Iterator[str]:
    """A page served from an origin of its own (another port), as any site the developer visits."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _AttackerPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def attacker_tab(local_aws: Any, playwright: Any) -> Iterator[Any]:
    """A Chromium tab whose resolver maps the rebinding host name to this machine."""
    rebinding = f"--host-resolver-rules=MAP {REBIND_HOST} 127.0.0.1"
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, rebinding])
    yield browser.new_context().new_page()
    browser.close()


# Each attack: the request a page sends, and how the page reports its fate ("blocked" when fetch itself fails).
ATTACK = """async ([url, init]) => {
  try {
    const answer = await fetch(url, init);
    return answer.type === 'opaque' ? 'sent (opaque)' : `${answer.status} ${await answer.text()}`;
  } catch (error) { return 'blocked'; }
}"""


def attack(tab: Any, url: str, init: dict[str, Any]) -> str:
    return str(tab.evaluate(ATTACK, [url, init]))


def form(**fields: str) -> str:
    from urllib.parse import urlencode

    return urlencode(fields)


def test_a_page_from_another_origin_gets_nowhere(attacker_tab: Any, attacker_url: str) -> None:
    endpoint = aws.connection().endpoint_url
    attacker_tab.goto(attacker_url)
    # A request that needs a preflight: the preflight is refused, so the browser never sends it.
    preflighted = {
        "method": "POST", "body": "{}",
        "headers": {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"},
    }  # fmt: skip
    assert attack(attacker_tab, f"{endpoint}/", preflighted) == "blocked"
    # "Simple" requests need no preflight: the browser sends them blind; the endpoint must refuse them itself.
    blind = {"method": "POST", "mode": "no-cors", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}
    create_stack = form(Action="CreateStack", Version="2010-05-15", StackName="evil",
                        TemplateBody=json.dumps(EVIL_TEMPLATE))  # fmt: skip
    attack(attacker_tab, f"{endpoint}/", blind | {"body": create_stack})
    text = {"method": "POST", "mode": "no-cors", "headers": {"Content-Type": "text/plain"}}
    attack(attacker_tab, f"{endpoint}/2015-03-31/functions/evil-fn/invocations", text | {"body": "{}"})
    attack(attacker_tab, f"{endpoint}/moto-api/reset", text | {"body": ""})
    faults = [{"service": "sqs", "error": {"code": "Pwned", "statusCode": 500}}]
    attack(attacker_tab, f"{endpoint}{chaos.PATH}", text | {"body": json.dumps(faults)})
    assert_untouched()


def test_a_rebinding_host_name_is_refused(attacker_tab: Any) -> None:
    endpoint = aws.connection().endpoint_url or ""
    port = endpoint.rsplit(":", 1)[1]
    # The attacker's name now resolves here: to the browser, the endpoint is the page's own origin, and a
    # same-origin GET carries no Origin header. Only the Host says whom the request was meant for.
    attacker_tab.goto(f"http://{REBIND_HOST}:{port}/")
    same_origin = attack(attacker_tab, f"http://{REBIND_HOST}:{port}/", {"method": "GET"})
    assert same_origin.startswith("403 ")
    assert "is not the address this local AWS serves" in same_origin
    reset = attack(attacker_tab, f"http://{REBIND_HOST}:{port}/moto-api/reset", {"method": "POST"})
    assert reset.startswith("403 ")
    assert_untouched()


def assert_untouched() -> None:
    """The stack and its functions are as deployed; no attacker resource and no fault rule exists."""
    cloudformation = aws.client("cloudformation")
    names = {stack["StackName"] for stack in cloudformation.describe_stacks()["Stacks"]}
    assert aws.connection().stack_name in names
    assert "evil" not in names
    functions = {f["FunctionName"] for f in aws.client("lambda").list_functions()["Functions"]}
    assert "evil-fn" not in functions
    assert set(aws.resources().function_names.values()) <= functions
    rules = json.loads(client.signed_call(aws.connection().endpoint_url or "", "GET", chaos.PATH))
    assert rules == []
    assert not Path("/tmp/pwned").exists()
