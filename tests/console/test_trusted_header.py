"""``console.trusted_user_header``: the proxy's user is logged in, and still needs the CSRF
token to change anything (in process: no NATS, no other service)."""

from __future__ import annotations

import re

from pdjira_common.config import Config, ConsoleSettings, HttpListen, ServiceListen
from pdjira_console.app import create_app
from starlette.testclient import TestClient

# Nothing listens on port 9 (discard): the Health page shows every service unreachable.
NOWHERE = HttpListen(port=9)
CONFIG = Config(
    console=ConsoleSettings(trusted_user_header="X-Forwarded-User"),
    listen=ServiceListen(
        ingest=NOWHERE, rules=NOWHERE, jira_writer=NOWHERE, pd_writer=NOWHERE, mapping=NOWHERE
    ),
)


def client() -> TestClient:
    # Sync on purpose: Playwright's sync API (the browser tests, same worker) runs an event loop
    # on the main thread, so no async test can run after it; TestClient has its own thread.
    # Not entered: no lifespan, no NATS.
    return TestClient(create_app(CONFIG), base_url="http://console", follow_redirects=False)


def test_the_proxys_user_is_logged_in_and_still_needs_the_csrf_token() -> None:
    http = client()
    as_alice = {"X-Forwarded-User": "alice"}
    page = http.get("/", headers=as_alice)
    assert page.status_code == 200
    assert "alice" in page.text
    assert "unreachable" in page.text  # every service, with NOWHERE as their address
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None

    refused = http.post("/logout", headers=as_alice, data={})
    assert refused.status_code == 403
    other_user = http.post(
        "/logout", headers={"X-Forwarded-User": "bob"}, data={"csrf_token": token[1]}
    )
    assert other_user.status_code == 403
    accepted = http.post("/logout", headers=as_alice, data={"csrf_token": token[1]})
    assert accepted.status_code == 303


def test_without_the_header_nobody_is_logged_in() -> None:
    http = client()
    page = http.get("/")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/"
    login = http.get("/login")
    assert "No login is configured" in login.text
