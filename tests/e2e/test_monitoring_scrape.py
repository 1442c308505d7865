"""A sync both ways shows in every service's ``/metrics``: the webhooks, the decisions, the
vendor calls by operation, and the end-to-end sync latency histogram; and every metric the
Grafana dashboard and the alert rules refer to exists in those scrapes."""

from __future__ import annotations

import httpx
import pytest
from pdjira_devstack.stack import SERVICES, Stack
from pdjira_devstack.waiting import SimulatorState
from prometheus_client.parser import text_string_to_metric_families
from support.monitoring import exposed_metrics, referenced_metrics

from .conftest import SHARED_STACK
from .helpers import Quiet, linked_issue, transition_issue, wait_incident_status

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(SHARED_STACK)]


async def _scrape(stack: Stack, http: httpx.AsyncClient) -> dict[str, str]:
    scrapes = {}
    for name in SERVICES:
        response = await http.get(f"{stack.url(name)}/metrics")
        response.raise_for_status()
        scrapes[name] = response.text
    return scrapes


def _value(text: str, sample: str, **labels: str) -> float:
    """The sum of the samples named ``sample`` whose labels include ``labels``."""
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == sample and labels.items() <= s.labels.items()
    )


async def test_a_sync_both_ways_shows_in_the_metrics_the_dashboard_uses(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    before = await _scrape(stack, http)
    # PagerDuty -> Jira (an issue created), then Jira -> PagerDuty (the incident resolved).
    incident, issue = await linked_issue(stack, http, sims, quiet, "Metrics both ways")
    await transition_issue(http, stack, issue["key"], "Done")
    await wait_incident_status(sims, incident["id"], "resolved")
    await quiet()
    after = await _scrape(stack, http)

    def grew(service: str, sample: str, **labels: str) -> float:
        return _value(after[service], sample, **labels) - _value(before[service], sample, **labels)

    for source in ("pagerduty", "jira"):
        webhooks = grew("ingest", "pdjira_ingest_webhooks_total", source=source, outcome="accepted")
        assert webhooks >= 1, source
    assert grew("rules", "pdjira_rules_decisions_total", matched="true") >= 2
    # The writes, by operation (a route template), and the end-to-end latency of each sync.
    assert (
        grew(
            "jira-writer",
            "pdjira_vendor_request_duration_seconds_count",
            vendor="jira",
            operation="post_issue",
            status="201",
        )
        >= 1
    )
    assert (
        grew("pd-writer", "pdjira_vendor_request_duration_seconds_count", vendor="pagerduty") >= 1
    )
    created = grew("jira-writer", "pdjira_sync_latency_seconds_count", command="CreateIssue")
    resolved = grew("pd-writer", "pdjira_sync_latency_seconds_count", command="UpdateIncident")
    # (At least: a straggler of an earlier test on the shared stack may land in the window too.)
    assert created >= 1
    assert resolved >= 1
    # A second at most here (simulators, one host): the histogram's sum says how long it took.
    seconds = grew("jira-writer", "pdjira_sync_latency_seconds_sum", command="CreateIssue")
    assert 0 < seconds < 30
    # The buckets count it too (cumulative: the +Inf bucket holds every observation).
    in_time = grew(
        "pd-writer", "pdjira_sync_latency_seconds_bucket", command="UpdateIncident", le="+Inf"
    )
    assert in_time == resolved
    # The writers read the DLQ depth and the consumers' lag from JetStream.
    assert _value(after["jira-writer"], "pdjira_jetstream_metrics_refreshed_timestamp_seconds") > 0
    lagging = _value(
        after["pd-writer"], "pdjira_jetstream_consumer_pending_messages", stream="COMMANDS"
    )
    assert lagging >= 0

    exposed = set().union(*(exposed_metrics(text) for text in after.values()))
    missing = {
        name: sorted(where) for name, where in referenced_metrics().items() if name not in exposed
    }
    assert not missing, f"the dashboard or the alerts use metrics no service exposes: {missing}"
