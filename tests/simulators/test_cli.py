"""`python -m pdjira_simulators.{pagerduty,jira}` start real servers with the documented flags."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from pdjira_simulators.testing import WebhookReceiver, free_port, verify_pagerduty_signature


@asynccontextmanager
async def started(module: str, *args: str) -> AsyncIterator[str]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *args,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(trust_env=False) as client:
            for _ in range(200):
                if proc.returncode is not None:
                    err = await proc.stderr.read() if proc.stderr else b""
                    raise AssertionError(err.decode())
                try:
                    if (await client.get(f"{base}/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("simulator did not start")
        yield base
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=10)


async def test_pagerduty_cli() -> None:
    async with (
        WebhookReceiver() as rx,
        started(
            "pdjira_simulators.pagerduty",
            "--token",
            "cli-token",
            "--webhook-url",
            rx.url,
            "--webhook-secret",
            "s1",
            "--webhook-secret",
            "s2",
            "--webhook-retry-delay",
            "0.1",
            "--seed",
            "3",
        ) as base,
        httpx.AsyncClient(base_url=base, trust_env=False) as client,
    ):
        assert (await client.get("/incidents")).status_code == 401
        resp = await client.get("/incidents", headers={"Authorization": "Token token=cli-token"})
        assert resp.status_code == 200
        await client.post("/_sim/incidents", json={"title": "via cli"})
        [hook] = await rx.wait_for(1)
        signature = hook.headers["x-pagerduty-signature"]
        assert verify_pagerduty_signature("s1", hook.body, signature)
        assert verify_pagerduty_signature("s2", hook.body, signature)


async def test_jira_cli() -> None:
    async with (
        WebhookReceiver() as rx,
        started(
            "pdjira_simulators.jira",
            "--username",
            "svc",
            "--password",
            "pw",
            "--token",
            "pat",
            "--webhook-url",
            rx.url,
            "--webhook-secret",
            "js",
            "--require-field",
            "Incident:customfield_10102",
        ) as base,
        httpx.AsyncClient(base_url=base, trust_env=False) as client,
    ):
        me = await client.get("/rest/api/2/myself", auth=("svc", "pw"))
        assert me.status_code == 200
        pat = await client.get("/rest/api/2/myself", headers={"Authorization": "Bearer pat"})
        assert pat.json()["name"] == "svc"
        created = await client.post(
            "/rest/api/2/issue",
            headers={"Authorization": "Bearer pat"},
            json={
                "fields": {
                    "project": {"key": "OPS"},
                    "issuetype": {"name": "Task"},
                    "summary": "via cli",
                }
            },
        )
        assert created.status_code == 201
        [hook] = await rx.wait_for(1)
        assert hook.json()["user"]["name"] == "svc"
        incident = await client.post(
            "/rest/api/2/issue",
            headers={"Authorization": "Bearer pat"},
            json={
                "fields": {
                    "project": {"key": "OPS"},
                    "issuetype": {"name": "Incident"},
                    "summary": "needs the field",
                }
            },
        )
        assert incident.status_code == 400
        assert "customfield_10102" in incident.json()["errors"]
        assert hook.headers["x-hub-signature"].startswith("sha256=")
