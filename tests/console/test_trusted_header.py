"""``console.trusted_user_header``: the proxy's user is logged in, and still needs the CSRF
token to change anything (in process: no NATS, no other service)."""

from __future__ import annotations

import re

import httpx
from pdjira_common.config import Config, ConsoleSettings, HttpListen, ServiceListen
from pdjira_console.app import create_app

# Nothing listens on port 9 (discard): the Health page shows every service unreachable.
NOWHERE = HttpListen(port=9)
CONFIG = Config(
    console=ConsoleSettings(trusted_user_header="X-Forwarded-User"),
    listen=ServiceListen(
        ingest=NOWHERE, rules=NOWHERE, jira_writer=NOWHERE, pd_writer=NOWHERE, mapping=NOWHERE
    ),
)


def client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(CONFIG))
    return httpx.AsyncClient(transport=transport, base_url="http://console")


async def test_the_proxys_user_is_logged_in_and_still_needs_the_csrf_token() -> None:
    async with client() as http:
        as_alice = {"X-Forwarded-User": "alice"}
        page = await http.get("/", headers=as_alice)
        assert page.status_code == 200
        assert "alice" in page.text
        assert "unreachable" in page.text  # every service, with NOWHERE as their address
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None

        refused = await http.post("/logout", headers=as_alice, data={})
        assert refused.status_code == 403
        other_user = await http.post(
            "/logout", headers={"X-Forwarded-User": "bob"}, data={"csrf_token": token[1]}
        )
        assert other_user.status_code == 403
        accepted = await http.post("/logout", headers=as_alice, data={"csrf_token": token[1]})
        assert accepted.status_code == 303


async def test_without_the_header_nobody_is_logged_in() -> None:
    async with client() as http:
        page = await http.get("/")
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=/"
        login = await http.get("/login")
        assert "No login is configured" in login.text
