"""End-to-end fixtures: every service as its own OS process, real nats-server, simulators.

One stack (``stack``) serves every module that does not need settings of its own; its tests
are independent (each makes its own incidents and issues) and run on one xdist worker
(``xdist_group``), so the stack starts once per run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import nats
import pytest
from nats.aio.client import Client
from pdjira_devstack.stack import Stack, StackSettings
from pdjira_devstack.waiting import SimulatorState

from .helpers import Quiet, quiet_signal

# Quick recovery in tests: a killed writer's message comes back after 3 s, retries start at 0.2 s.
FAST = StackSettings(
    ack_wait=3.0, base_delay=0.2, max_delay=2.0, webhook_retry_delay=0.5, check_contract=True
)
SHARED_STACK = "e2e-shared-stack"  # the xdist group of the modules that use ``stack``


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory, "stack", FAST)


def running_stack(
    tmp_path_factory: pytest.TempPathFactory, name: str, settings: StackSettings
) -> Iterator[Stack]:
    """The body of a ``stack`` fixture: a module with settings of its own overrides ``stack``
    with ``yield from running_stack(tmp_path_factory, "<name>", SETTINGS)``; the other
    fixtures here (http, sims, bus, quiet) then use that stack."""
    workdir: Path = tmp_path_factory.mktemp(name)
    with Stack(workdir, settings) as running:
        yield running
        assert_no_contract_violations(running)


def assert_no_contract_violations(running: Stack) -> None:
    """Nothing our services sent (or the simulators answered) broke the vendors' OpenAPI specs."""
    for base in (running.pd_url, running.jira_url):
        body = httpx.get(f"{base}/_sim/contract-violations", timeout=10.0).json()
        assert body["enabled"], f"contract mode is off on {base}"
        assert body["violations"] == [], body["violations"]


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        yield client


@pytest.fixture
def sims(stack: Stack, http: httpx.AsyncClient) -> SimulatorState:
    return SimulatorState(http, stack.pd_url, stack.jira_url)


@pytest.fixture
async def bus(stack: Stack) -> AsyncIterator[Client]:
    """A NATS connection to the stack's nats-server."""
    nc = await nats.connect(stack.nats.url)
    try:
        yield nc
    finally:
        await nc.close()


@pytest.fixture
def quiet(bus: Client, sims: SimulatorState) -> Quiet:
    """``await quiet()``: nothing more is in flight in the stack (see helpers.quiet_signal)."""
    return quiet_signal(bus.jetstream(), sims)
