"""Launch-as-rendered: every service started exactly as the rendered dev Deployment runs it
(rendered_stack.py), a sync both ways, and every service's /metrics shows the sync.

The ``synced`` fixture runs the sync once and hands over what every service's /metrics said
after it (:class:`Scraped`): other checks (e.g. that a dashboard names only metrics that exist)
use it too. ``SYNC_COUNTED`` lists what the sync must have counted, one line per fact."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from pdjira_devstack.demo import trigger_incident
from pdjira_devstack.stack import ACCOUNT, SERVICES
from pdjira_devstack.waiting import SimulatorState, block_on, wait_until
from prometheus_client.parser import text_string_to_metric_families
from support.monitoring import exposed_metrics, referenced_metrics

from .rendered_stack import RenderedStack

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("rendered-dev-stack")]

Samples = dict[str, float]  # "name{label=value,...}" -> value, and "name" -> sum over labels

# What the sync (an incident -> an issue; the issue Done -> the incident resolved) must have
# counted: (service, sample, at least). Labels in a sample are sorted by name.
SYNC_COUNTED = [
    ("ingest", "pdjira_ingest_webhooks_total{outcome=accepted,reason=stored,source=pagerduty}", 1),
    ("ingest", "pdjira_ingest_webhooks_total{outcome=accepted,reason=stored,source=jira}", 1),
    ("rules", "pdjira_rules_events_total", 2),
    ("jira-writer", "pdjira_jira_writer_outcomes_total", 1),
    ("jira-writer", "pdjira_jira_requests_total", 1),
    ("pd-writer", "pdjira_pd_writer_outcomes_total", 1),
    ("pd-writer", "pdjira_pagerduty_requests_total", 1),
    ("mapping", "pdjira_mapping_links_recorded_total", 1),
    # The end-to-end latency (event stored -> vendor write done) of each direction's write.
    ("jira-writer", "pdjira_sync_latency_seconds_count{command=CreateIssue}", 1),
    ("pd-writer", "pdjira_sync_latency_seconds_count{command=UpdateIncident}", 1),
]


@dataclass(frozen=True)
class Scraped:
    """Every service's /metrics after the sync: samples by service."""

    samples: dict[str, Samples]
    texts: dict[str, str]  # each service's /metrics as scraped

    def names(self) -> set[str]:
        """Every sample name any service exposes (``_total``, ``_bucket``, ``_count``... as
        exposed): the names a dashboard or an alert may refer to."""
        return {n for samples in self.samples.values() for n in samples if "{" not in n}

    def missing(self) -> list[tuple[str, str, float | None]]:
        """The SYNC_COUNTED facts not (yet) true: (service, sample, value seen)."""
        return [
            (service, name, self.samples[service].get(name))
            for service, name, least in SYNC_COUNTED
            if self.samples[service].get(name, 0.0) < least
        ]


async def scrape(http: httpx.AsyncClient, stack: RenderedStack) -> Scraped:
    """Every service's /metrics (on the port its Deployment exposes)."""
    out: dict[str, Samples] = {}
    texts: dict[str, str] = {}
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
        texts[service] = response.text
    return Scraped(out, texts)


async def sync_both_ways(stack: RenderedStack) -> Scraped:
    async with httpx.AsyncClient(timeout=10.0, trust_env=False) as http:
        sims = SimulatorState(http, stack.pd_url, stack.jira_url)
        # PagerDuty -> Jira: an incident creates an issue.
        incident = await trigger_incident(http, stack.pd_url, "Rendered manifests: disk full")

        async def issue() -> dict[str, object] | None:
            issues = await sims.issues_for_incident(ACCOUNT, incident["id"])
            return issues[0] if issues else None

        created = await wait_until(issue, timeout=60, what="the incident's issue")
        # Jira -> PagerDuty: a person whose e-mail matches a PagerDuty user (Pat, seeded in
        # the PagerDuty simulator) resolves it in Jira; the rendered config ignores changes by
        # people linked to nobody (mapping.unlinked_users: ignore, the default).
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

        async def counted() -> Scraped | None:
            scraped = await scrape(http, stack)
            return None if scraped.missing() else scraped

        try:
            return await wait_until(counted, timeout=30, what="the sync in the counters")
        except TimeoutError:
            return await scrape(http, stack)  # the test says what is missing


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RenderedStack]:
    with RenderedStack(tmp_path_factory.mktemp("rendered")) as running:
        yield running


@pytest.fixture(scope="module")
def synced(stack: RenderedStack) -> Scraped:
    """The sync both ways done once on the rendered stack; /metrics of every service after."""
    return block_on(sync_both_ways(stack))


def test_the_rendered_dev_deployments_sync_both_ways_and_count_it(synced: Scraped) -> None:
    assert not synced.missing(), (
        f"not counted: {synced.missing()}; exposed: {sorted(synced.names())}"
    )
    assert all(synced.samples[service] for service in SERVICES)


def test_the_dashboard_and_the_alerts_use_only_metrics_these_scrapes_declare(
    synced: Scraped,
) -> None:
    exposed = set().union(*(exposed_metrics(text) for text in synced.texts.values()))
    unknown = {
        name: sorted(where) for name, where in referenced_metrics().items() if name not in exposed
    }
    assert not unknown, f"referred to but not exposed by the rendered services: {unknown}"
