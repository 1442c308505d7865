"""The admin HTTP API (bearer token) against the mapping service on a real nats-server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from pdjira_common.config import parse_config
from pdjira_common.contracts import IncidentRef, IssueLinked, IssueRef, encode
from pdjira_common.identity import JiraUserByKey, JiraWhoAmI, PdWhoAmI, WhoAmIReply
from pdjira_common.requests import (
    JiraUser,
    JiraUserSearch,
    JiraUsersReply,
    PdUser,
    PdUserRead,
    PdUserReply,
    PdUserSearch,
    jira_read_subject,
    pd_read_subject,
)
from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.waiting import wait_until
from pdjira_mapping.main import MappingService, create_service

from .test_mapping_service import publish_outcome

TOKEN = "admin-token-for-tests"
PD_USERS = {
    "PAT": PdUser(id="PAT", email="pat@example.com"),
    "PJO": PdUser(id="PJO", email="jo@example.com"),
}
JIRA_USERS = (
    JiraUser(name="pat", key="JIRAUSER1", email="pat@example.com"),
    JiraUser(name="jdoe", key="JIRAUSER2", email=None),
)


def mapping_config(url: str, token: str | None = TOKEN) -> dict:
    return {
        "nats": {"url": url},
        "pagerduty_accounts": [{"id": "acme", "token": "tok-abcdef", "from_email": "b@x.io"}],
        "jira_instances": [
            {
                "id": "dc1",
                "base_url": "jira",
                "auth": {"type": "token", "token": "pat-1234"},
                "webhook_secret": "hook-1234",
            }
        ],
        "mapping": {"admin_token": token} if token else {},
    }


async def fake_writers(nc: Client) -> None:
    async def pd_user(msg: Msg) -> None:
        read = msgspec.json.decode(msg.data, type=PdUserRead)
        await msg.respond(encode(PdUserReply(user=PD_USERS.get(read.user_id))))

    async def pd_by_email(msg: Msg) -> None:
        search = msgspec.json.decode(msg.data, type=PdUserSearch)
        user = next((u for u in PD_USERS.values() if u.email == search.email), None)
        await msg.respond(encode(PdUserReply(user=user)))

    async def jira_users(msg: Msg) -> None:
        search = msgspec.json.decode(msg.data, type=JiraUserSearch)
        q = search.query.casefold()
        found = tuple(u for u in JIRA_USERS if q in u.name or q in (u.email or ""))
        await msg.respond(encode(JiraUsersReply(users=found)))

    async def jira_by_key(msg: Msg) -> None:
        read = msgspec.json.decode(msg.data, type=JiraUserByKey)
        found = tuple(u for u in JIRA_USERS if u.key == read.key)
        await msg.respond(encode(JiraUsersReply(users=found)))

    async def pd_whoami(msg: Msg) -> None:
        read = msgspec.json.decode(msg.data, type=PdWhoAmI)
        if read.token == TOKEN:
            reply = WhoAmIReply(problem="not_a_user_token", error="an account-level API key")
        elif read.token == "pat-user-key":
            reply = WhoAmIReply(pd_user=PD_USERS["PAT"])
        else:
            reply = WhoAmIReply(problem="refused", error="PagerDuty refused the API key (401)")
        await msg.respond(encode(reply))

    async def jira_whoami(msg: Msg) -> None:
        read = msgspec.json.decode(msg.data, type=JiraWhoAmI)
        user = JIRA_USERS[0] if read.token == "pat-jira-pat" else None
        reply = WhoAmIReply(jira_user=user) if user else WhoAmIReply(problem="refused", error="no")
        await msg.respond(encode(reply))

    await nc.subscribe(pd_read_subject("acme", "whoami"), cb=pd_whoami)
    await nc.subscribe(jira_read_subject("dc1", "whoami"), cb=jira_whoami)
    await nc.subscribe(jira_read_subject("dc1", "user_by_key"), cb=jira_by_key)
    await nc.subscribe(pd_read_subject("acme", "user"), cb=pd_user)
    await nc.subscribe(pd_read_subject("acme", "users_by_email"), cb=pd_by_email)
    await nc.subscribe(jira_read_subject("dc1", "users_by_email"), cb=jira_users)
    await nc.flush()


@pytest.fixture
async def service(nc: Client, nats_server: NatsServer) -> AsyncIterator[MappingService]:
    await fake_writers(nc)
    running = create_service(parse_config(mapping_config(nats_server.url)))
    async with running.app:
        yield running


@pytest.fixture
async def admin(service: MappingService) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=service.asgi)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://mapping", headers=headers
    ) as client:
        yield client


async def test_token_is_required(service: MappingService) -> None:
    transport = httpx.ASGITransport(app=service.asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://m") as client:
        refused = await client.get("/admin/v1/users")
        wrong = await client.get("/admin/v1/users", headers={"Authorization": "Bearer nope"})
        health = await client.get("/health")
    assert refused.status_code == wrong.status_code == 401
    assert "bearer token" in refused.json()["error"]
    assert TOKEN not in wrong.text
    assert health.is_success  # the service's own routes are untouched


async def test_admin_api_is_off_without_a_token(nc: Client, nats_server: NatsServer) -> None:
    running = create_service(parse_config(mapping_config(nats_server.url, token=None)))
    transport = httpx.ASGITransport(app=running.asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://m") as client:
        response = await client.get("/admin/v1/users")
    assert response.status_code == 503
    assert "set mapping.admin_token" in response.json()["error"]


async def test_users_link_list_unlink(admin: httpx.AsyncClient) -> None:
    linked = await admin.put("/admin/v1/users/acme/dc1/PAT", json={"jira_user": "jdoe"})
    assert linked.status_code == 200, linked.text
    assert linked.json()["user"]["jira_user"]["key"] == "JIRAUSER2"
    listed = (await admin.get("/admin/v1/users")).json()["users"]
    assert [(u["pd_user"]["id"], u["jira_user"]["name"]) for u in listed] == [("PAT", "jdoe")]

    missing = await admin.put("/admin/v1/users/acme/dc1/PAT", json={"jira_user": "ghost"})
    assert missing.status_code == 422
    assert "Jira user 'ghost' not found" in missing.json()["error"]
    bad_account = await admin.put("/admin/v1/users/nope/dc1/PAT", json={"jira_user": "jdoe"})
    assert bad_account.status_code == 404
    assert "configured: ['acme']" in bad_account.json()["error"]
    bad_body = await admin.put("/admin/v1/users/acme/dc1/PAT", json={"jira": "jdoe"})
    assert bad_body.status_code == 400

    assert (await admin.delete("/admin/v1/users/acme/dc1/PAT")).status_code == 200
    again = await admin.delete("/admin/v1/users/acme/dc1/PAT")
    assert again.status_code == 404
    assert "no manual link" in again.json()["error"]


async def test_automap_and_import(admin: httpx.AsyncClient) -> None:
    mapped = await admin.post(
        "/admin/v1/users/acme/dc1/automap", json={"pd_user_ids": ["PAT", "PJO"], "save": True}
    )
    results = {r["pd_user_id"]: r["result"] for r in mapped.json()["results"]}
    assert results["PAT"]["source"] == "email"
    assert results["PJO"]["source"] is None  # jo has no Jira user with that e-mail
    listed = (await admin.get("/admin/v1/users")).json()["users"]
    assert [u["pd_user"]["id"] for u in listed] == ["PAT"]

    imported = await admin.post(
        "/admin/v1/users/acme/dc1/import",
        json={
            "rows": [
                {"email": "jo@example.com", "jira_user": "jdoe"},
                {"pd_user_id": "PGHOST", "jira_user": "pat"},
                {"name": "nobody"},
            ]
        },
    )
    rows = imported.json()["results"]
    assert rows[0]["ok"]
    assert rows[0]["user"]["pd_user"]["id"] == "PJO"
    assert "PagerDuty user PGHOST not found" in rows[1]["error"]
    assert "neither a PagerDuty user id nor an e-mail" in rows[2]["error"]


async def test_links_show_export_unlink(
    nc: Client, service: MappingService, admin: httpx.AsyncClient
) -> None:
    for n in range(3):
        outcome = IssueLinked(
            command_id=f"c{n}",
            correlation_id="x",
            incident=IncidentRef(account="acme", incident_id=f"PINC{n}"),
            issue=IssueRef(instance="dc1", issue_id=f"1000{n}", key=f"OPS-{n}"),
            created=True,
        )
        await publish_outcome(nc, outcome, f"o{n}")

    async def three() -> bool:
        response = await admin.get("/admin/v1/links")
        return len(response.text.splitlines()) == 3

    await wait_until(three, timeout=10, what="three links exported")
    by_incident = (await admin.get("/admin/v1/links/incident/acme/PINC1")).json()
    by_key = (await admin.get("/admin/v1/links/issue/dc1/OPS-1")).json()
    by_id = (await admin.get("/admin/v1/links/issue/dc1/10001")).json()
    assert by_incident["link"] == by_key["link"] == by_id["link"]
    assert by_incident["link"]["issue"]["key"] == "OPS-1"

    removed = await admin.delete("/admin/v1/links/issue/dc1/OPS-1")
    assert removed.json()["removed"]["incident"]["incident_id"] == "PINC1"
    gone = await admin.get("/admin/v1/links/incident/acme/PINC1")
    assert gone.status_code == 404
    assert len((await admin.get("/admin/v1/links")).text.splitlines()) == 2
    assert await service.store.by_issue("dc1", "10001") is None


async def test_self_link_needs_no_admin_token_only_the_persons_own_tokens(
    service: MappingService, admin: httpx.AsyncClient
) -> None:
    transport = httpx.ASGITransport(app=service.asgi)
    body = {"account": "acme", "instance": "dc1", "pd_token": "", "jira_token": "pat-jira-pat"}
    async with httpx.AsyncClient(transport=transport, base_url="http://m") as person:
        account_key = await person.post(
            "/admin/v1/users/self-link", json={**body, "pd_token": TOKEN}
        )
        unknown = await person.post(
            "/admin/v1/users/self-link", json={**body, "account": "nope", "pd_token": "x"}
        )
        linked = await person.post(
            "/admin/v1/users/self-link", json={**body, "pd_token": "pat-user-key"}
        )
    assert account_key.status_code == 422
    assert "account-level API key" in account_key.json()["error"]
    assert TOKEN not in account_key.text
    assert unknown.status_code == 404
    assert "unknown account 'nope'" in unknown.json()["error"]
    assert linked.status_code == 200, linked.text
    user = linked.json()["user"]
    assert (user["pd_user"]["id"], user["jira_user"]["name"]) == ("PAT", "pat")
    assert "pat-user-key" not in linked.text
    listed = (await admin.get("/admin/v1/users")).json()["users"]
    assert [(u["pd_user"]["id"], u["jira_user"]["name"]) for u in listed] == [("PAT", "pat")]
