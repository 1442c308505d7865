"""Launch-as-rendered: every service started exactly as the rendered dev Deployment runs it
(rendered_stack.py), a sync both ways, and every service's /metrics shows the sync."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from pdjira_devstack.demo import trigger_incident
from pdjira_devstack.stack import ACCOUNT, SERVICES
from pdjira_devstack.waiting import SimulatorState, wait_until
from prometheus_client.parser import text_string_to_metric_families

from .rendered_stack import RenderedStack

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("rendered-dev-stack")]

Samples = dict[str, float]  # "name{label=value,...}" -> value, and "name" -> sum over labels


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RenderedStack]:
    with RenderedStack(tmp_path_factory.mktemp("rendered")) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0, trust_env=False) as client:
        yield client


async def scrape(http: httpx.AsyncClient, stack: RenderedStack) -> dict[str, Samples]:
    """Every service's /metrics (the port its Deployment exposes), as samples by service."""
    out: dict[str, Samples] = {}
    for service in SERVICES:
        response = await http.get(f"{stack.url(service)}/metrics")
        response.raise_for_status()
        samples: Samples = {}
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                samples[f"{sample.name}{{{labels}}}"] = sample.value
                samples[sample.name] = samples.get(sample.name, 0.0) + sample.value
        out[service] = samples
    return out


def metric_names(scraped: dict[str, Samples]) -> set[str]:
    """Every metric (sample) name the services expose: what a dashboard may refer to."""
    return {name for samples in scraped.values() for name in samples if "{" not in name}


# What the sync must have counted: (service, sample, at least). One line per fact.
SYNC_COUNTED = [
    ("ingest", "pdjira_ingest_webhooks_total{outcome=accepted,reason=stored,source=pagerduty}", 1),
    ("ingest", "pdjira_ingest_webhooks_total{outcome=accepted,reason=stored,source=jira}", 1),
    ("rules", "pdjira_rules_events_total", 2),
    ("jira-writer", "pdjira_jira_writer_outcomes_total", 1),
    ("jira-writer", "pdjira_jira_requests_total", 1),
    ("pd-writer", "pdjira_pd_writer_outcomes_total", 1),
    ("pd-writer", "pdjira_pagerduty_requests_total", 1),
    ("mapping", "pdjira_mapping_links_recorded_total", 1),
]


async def test_the_rendered_dev_deployments_sync_both_ways_and_count_it(
    stack: RenderedStack, http: httpx.AsyncClient
) -> None:
    sims = SimulatorState(http, stack.pd_url, stack.jira_url)
    # PagerDuty -> Jira: an incident creates an issue.
    incident = await trigger_incident(http, stack.pd_url, "Rendered manifests: disk full")

    async def issue() -> dict[str, object] | None:
        issues = await sims.issues_for_incident(ACCOUNT, incident["id"])
        return issues[0] if issues else None

    created = await wait_until(issue, timeout=60, what="the incident's issue")
    # Jira -> PagerDuty: a person (e-mail matching a PagerDuty user) resolves it in Jira.
    response = await http.post(
        f"{stack.jira_url}/_sim/users",
        json={"name": "pat", "email": "pat@example.com", "display_name": "Pat Oncall"},
    )
    response.raise_for_status()
    response = await http.post(
        f"{stack.jira_url}/_sim/issues/{created['key']}/transition",
        json={"status": "Done", "as_user": "pat"},
    )
    response.raise_for_status()

    async def resolved() -> bool:
        return str((await sims.incident(incident["id"]))["status"]) == "resolved"

    await wait_until(resolved, timeout=60, what="the incident resolved from Jira")

    async def counted() -> dict[str, Samples] | None:
        scraped = await scrape(http, stack)
        done = all(scraped[s].get(name, 0.0) >= least for s, name, least in SYNC_COUNTED)
        return scraped if done else None

    try:
        scraped = await wait_until(counted, timeout=30, what="the sync in the counters")
    except TimeoutError:
        scraped = await scrape(http, stack)
        missing = [(s, n, scraped[s].get(n)) for s, n, least in SYNC_COUNTED
                   if scraped[s].get(n, 0.0) < least]  # fmt: skip
        pytest.fail(f"not counted: {missing}; names: {sorted(metric_names(scraped))}")
    assert all(scraped[s] for s in SERVICES)
    assert "pdjira_ingest_webhooks_total" in metric_names(scraped)
