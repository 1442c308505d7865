"""The chaos table and JSON (pure), and the seeded plan."""

from __future__ import annotations

import json

from pdjira_devstack.chaos_report import CHECKS, ChaosReport, render_table
from pdjira_devstack.chaos_scenario import ChaosSize, make_plan


def test_a_clean_report_passes_and_lists_every_check() -> None:
    report = ChaosReport(seed=1, scale=0.1, seconds=42.0, events={"pd create": 3})
    table = render_table(report)
    assert report.failed == []
    assert table.endswith("all checks passed")
    assert "  pd create" in table
    assert "seed 1, scale 0.1, 42 s" in table
    for name in CHECKS:
        assert f"  {name}" in table


def test_a_failed_check_is_marked_with_a_few_examples_and_fails_the_run() -> None:
    report = ChaosReport(seed=1, scale=1.0)
    for n in range(7):
        report.checks["lost"].add(f"P{n:04d}: incident has no issue")
    report.checks["duplicates"].add("P0001: comment copied 3 times", 2)
    table = render_table(report)
    assert report.failed == ["lost", "duplicates"]
    assert "7  FAIL" in table
    assert "2  FAIL" in table
    assert "P0004" in table
    assert "P0005" not in table
    assert "2 more (--json)" in table
    assert table.endswith("FAILED: lost, duplicates")
    data = json.loads(report.to_json())
    assert data["failed"] == ["lost", "duplicates"]
    assert len(data["checks"]["lost"]["examples"]) == 7


def test_the_plan_is_replayable_and_sized_by_scale() -> None:
    full = ChaosSize.scaled(1.0)
    assert (full.incidents, full.jira_issues, full.notes) == (320, 40, 122)
    assert full.kills_per_service * 5 >= 20
    assert full.broker_restarts == 2
    small = make_plan(7, ChaosSize.scaled(0.1))
    assert small == make_plan(7, ChaosSize.scaled(0.1))
    assert small != make_plan(8, ChaosSize.scaled(0.1))
    assert len(small.pairs) == 32 + 4
    assert sum(small.notes_by_side.values()) == 12
    kills = [service for _, service in small.faults.kills]
    assert sorted(kills) == ["ingest", "jira-writer", "mapping", "pd-writer", "rules"]
