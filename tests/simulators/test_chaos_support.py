"""What the chaos run reads from the simulators: counts of the faults they injected (vendor and
webhook), a share of slow answers or delayed webhooks, and PagerDuty's whole timeline."""

from __future__ import annotations

import pytest
from pdjira_simulators.common.faults import FaultConfig, FaultInjector
from pdjira_simulators.common.webhook_faults import WebhookFaultConfig, WebhookFaultInjector

from .conftest import Sim


def test_vendor_faults_count_what_they_inject() -> None:
    injector = FaultInjector(seed=3)
    injector.set(FaultConfig(error_rate=0.5, throttle_burst=2, latency_ms=5, latency_rate=0.25))
    throttled = sum(injector.should_throttle() for _ in range(10))
    failed = sum(injector.should_fail() for _ in range(200))
    slowed = sum(injector.should_slow() for _ in range(200))
    assert injector.injected == {"unavailable": failed, "throttled": 2, "slowed": slowed}
    assert throttled == 2
    assert 60 < failed < 140
    assert 20 < slowed < 80
    injector.clear()  # counts are since start, not since the last configuration
    assert injector.injected["throttled"] == 2
    assert not injector.should_slow()


def test_latency_rate_is_validated_and_defaults_to_every_request() -> None:
    assert FaultConfig.from_json({"latency_ms": 5}).latency_rate == 1.0
    with pytest.raises(ValueError, match="latency_rate"):
        FaultConfig.from_json({"latency_rate": 2})


def test_webhook_faults_count_what_they_inject() -> None:
    injector: WebhookFaultInjector[int] = WebhookFaultInjector(seed=5)
    injector.set(
        WebhookFaultConfig(
            drop_rate=0.1, duplicate_rate=0.2, reorder_rate=0.1, delay_ms=10, delay_rate=0.5
        )
    )
    out = [hook for i in range(300) for hook in injector.plan(str(i % 7), i)]
    delays = [injector.delay_seconds() for _ in range(300)]
    counts = injector.injected
    assert counts["dropped"] == len(injector.dropped) > 0
    assert counts["duplicated"] > 0
    assert counts["reordered"] > 0
    assert counts["delayed"] == sum(1 for d in delays if d > 0)
    assert 100 < counts["delayed"] < 200
    assert len(out) == 300 - counts["dropped"] + counts["duplicated"] - injector.held


def test_delay_rate_defaults_to_every_webhook() -> None:
    assert WebhookFaultConfig.from_json({"delay_ms": 5}).delay_rate == 1.0
    with pytest.raises(ValueError, match="delay_rate"):
        WebhookFaultConfig.from_json({"delay_rate": -1})


async def test_fault_endpoints_report_injected_counts(pd: Sim) -> None:
    faults = (await pd.admin.put("/_sim/faults", json={"throttle_burst": 1})).json()
    assert faults["injected"] == {"unavailable": 0, "throttled": 0, "slowed": 0}
    assert (await pd.client.get("/incidents")).status_code == 429
    assert (await pd.admin.get("/_sim/faults")).json()["injected"]["throttled"] == 1
    hooks = (await pd.admin.get("/_sim/webhook-faults")).json()
    assert hooks["injected"] == {"dropped": 0, "duplicated": 0, "reordered": 0, "delayed": 0}


async def test_log_entries_show_who_changed_what(pd: Sim) -> None:
    created = await pd.admin.post("/_sim/incidents", json={"title": "disk full"})
    incident_id = created.json()["incident"]["id"]
    await pd.admin.post(f"/_sim/incidents/{incident_id}/status", json={"status": "resolved"})
    entries = (await pd.admin.get("/_sim/log-entries")).json()["log_entries"]
    mine = [(e["type"], e["agent_id"]) for e in entries if e["incident_id"] == incident_id]
    assert mine == [("trigger_log_entry", "PUSER01"), ("resolve_log_entry", "PUSER01")]
    assert all(e["created_at"] for e in entries)


async def test_brief_jira_state_leaves_out_the_changelog(jira: Sim) -> None:
    await jira.admin.post("/_sim/issues", json={"summary": "printer on fire"})
    full = (await jira.admin.get("/_sim/state")).json()["issues"][-1]
    brief = (await jira.admin.get("/_sim/state", params={"brief": "1"})).json()["issues"][-1]
    assert "changelog" in full
    assert "changelog" not in brief
    assert brief["key"] == full["key"]
    assert brief["fields"]["summary"] == "printer on fire"
