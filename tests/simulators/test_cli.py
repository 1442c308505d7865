"""`python -m pdjira_simulators.{pagerduty,jira}` start real servers with the documented flags."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from pdjira_devstack.ports import free_port
from pdjira_devstack.waiting import wait_until
from pdjira_simulators.jira.__main__ import parse_args as jira_args
from pdjira_simulators.pagerduty.__main__ import parse_args as pd_args
from pdjira_simulators.testing import WebhookReceiver, verify_pagerduty_signature


@asynccontextmanager
async def started(module: str, *args: str, env: dict[str, str] | None = None) -> AsyncIterator[str]:
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
        env={**os.environ, **(env or {})},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(trust_env=False) as client:

            async def healthy() -> bool:
                if proc.returncode is not None:
                    err = await proc.stderr.read() if proc.stderr else b""
                    raise AssertionError(err.decode())
                try:
                    return (await client.get(f"{base}/health")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_until(healthy, timeout=30, what=f"{module} healthy", interval=0.05)
        yield base
    finally:
        proc.terminate()  # SIGTERM: a graceful stop, on the signal, with no polling tick
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
            # Contract mode from the environment, as a stack would turn it on.
            env={"PDJIRA_SIM_CHECK_CONTRACT": "strict"},
        ) as base,
        httpx.AsyncClient(base_url=base, trust_env=False) as client,
    ):
        assert (await client.get("/incidents")).status_code == 401
        auth = {"Authorization": "Token token=cli-token"}
        resp = await client.get("/incidents", headers=auth)
        assert resp.status_code == 200
        created = await client.post("/_sim/incidents", json={"title": "via cli"})
        [hook] = await rx.wait_for(1)
        signature = hook.headers["x-pagerduty-signature"]
        assert verify_pagerduty_signature("s1", hook.body, signature)
        assert verify_pagerduty_signature("s2", hook.body, signature)
        bad = await client.put(
            f"/incidents/{created.json()['incident']['id']}",
            headers={**auth, "From": "pat@example.com"},
            json={"incident": {"status": "resolved"}},  # no `type`
        )
        assert bad.status_code == 500
        state = (await client.get("/_sim/contract-violations")).json()
        assert (state["enabled"], state["strict"], state["checked"]) == (True, True, 3)
        assert [v["kind"] for v in state["violations"]] == ["request"]


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


def test_contract_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PDJIRA_SIM_CHECK_CONTRACT", raising=False)
    assert jira_args([]).check_contract is False
    assert jira_args(["--check-contract"]).check_contract is True
    assert pd_args(["--contract-strict"]).contract_strict is True
    monkeypatch.setenv("PDJIRA_SIM_CHECK_CONTRACT", "1")
    args = jira_args([])
    assert (args.check_contract, args.contract_strict) == (True, False)
    assert pd_args([]).check_contract is True
