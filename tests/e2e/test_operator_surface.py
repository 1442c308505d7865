"""What an operator sees of a running stack: every service answers ``/health`` and ``/live`` in
the same shape, every line every service has logged is JSON with the common keys, and the CLI
reaches the stack once its env file is sourced."""

from __future__ import annotations

import json
import os
import subprocess

import httpx
import pytest
from pdjira_devstack.stack import SERVICES, Stack

from .conftest import SHARED_STACK

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(SHARED_STACK)]


async def test_health_and_live_have_one_shape_everywhere(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    shapes = {}
    for service in SERVICES:
        health = await http.get(f"{stack.url(service)}/health")
        live = await http.get(f"{stack.url(service)}/live")
        assert (health.status_code, live.status_code) == (200, 200), service
        body = health.json()
        assert body["service"] == service
        assert body["status"] == "ok"
        assert body["checks"] == {"nats": "connected", "startup": "done"}
        assert live.json()["service"] == service
        assert live.json()["version"] == body["version"]
        shapes[service] = (tuple(sorted(body)), tuple(sorted(live.json())))
    assert len(set(shapes.values())) == 1, shapes
    assert shapes["ingest"][0] == ("checks", "service", "status", "version")


async def test_every_service_log_line_is_json(stack: Stack, http: httpx.AsyncClient) -> None:
    for service in SERVICES:  # something to log: a request each
        await http.get(f"{stack.url(service)}/health")
    for service in SERVICES:
        text = (stack.logs / f"{service}.log").read_text()
        assert "\x1b[" not in text, service
        lines = text.splitlines()
        assert lines, service
        for line in lines:
            record = json.loads(line)
            assert {"timestamp", "level", "event", "service"} <= record.keys(), (service, line)
            assert record["service"] == service, line


def test_the_cli_reaches_the_stack_after_sourcing_its_env_file(stack: Stack) -> None:
    """What `make run` prints: `source .run/env`, then any command, no flags."""

    def pdjira(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", f'source {stack.cli_env_path} && pdjira "$@"', "pdjira", *args],
            env={"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    rules = pdjira("rules", "list")
    assert rules.returncode == 0, rules.stderr
    assert "checkout-to-ops" in rules.stdout
    dlq = pdjira("dlq", "list")
    assert dlq.returncode == 0, dlq.stderr
    check = pdjira("config", "check", str(stack.config_path))
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith("ok: ")
    # The commands an operator runs first on a new install: no flags either.
    doctor = pdjira("doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "all checks ok" in doctor.stdout
    hooks = pdjira("webhooks", "check")
    assert hooks.returncode == 0, hooks.stdout + hooks.stderr
    assert "ping round trip" in hooks.stdout
