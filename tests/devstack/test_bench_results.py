"""latest.json, the file ``make bench`` writes: built from the measured figures only, ratios
computed from them, every required key either there or listed under ``not_measured``."""

from __future__ import annotations

import json
from pathlib import Path

from pdjira_devstack.bench import REQUIRED, assemble, write_results

MEASURED = {
    "ingest_rps": 3000,
    "bare_asgi_publish_rps": 4000,
    "e2e_events_per_s": 150.0,
    "direct_jira_creates_per_s": 600.0,
    "sustained_p99_ms": 80.5,
    "storm_drain_ratio": 1.05,
    "storm_429_fraction": 0.0,
    "rss_mb": {"ingest": 70.0, "rules": 95.5, "mapping": 80.0},
    "mapping_lookup_p99_ms": 1.2,
    "mapping_links": 100_000,
    "rules_500_events_per_s": 100.0,
    "rules_1_events_per_s": 160.0,
    "e2e_events_per_s_1_replica": 150.0,
    "e2e_events_per_s_3_replicas": 120.0,
}


def test_every_required_key_is_measured_and_the_ratios_come_from_the_figures() -> None:
    results = assemble(MEASURED, {})
    assert set(REQUIRED) <= set(results)
    assert "not_measured" not in results
    assert results["ingest_ratio"] == 0.75
    assert results["e2e_ratio"] == 0.25
    assert results["rules_500_ratio"] == 0.625
    assert results["replicas_ratio"] == 0.8
    assert results["rss_mb_max"] == 95.5
    # each figure stays beside the baseline it was divided by
    assert results["bare_asgi_publish_rps"] == 4000
    assert results["direct_jira_creates_per_s"] == 600.0


def test_a_missing_figure_is_listed_with_its_reason_never_invented() -> None:
    measured = {k: v for k, v in MEASURED.items() if k not in {"rules_1_events_per_s", "rss_mb"}}
    measured["sustained_p99_ms"] = None
    results = assemble(measured, {"sustained_p99_ms": "too slow here"})
    assert "rules_500_ratio" not in results
    assert "rss_mb_max" not in results
    assert "sustained_p99_ms" not in results
    assert results["not_measured"]["sustained_p99_ms"] == "too slow here"
    assert set(results["not_measured"]) == {
        "rules_500_ratio",
        "rss_mb",
        "rss_mb_max",
        "sustained_p99_ms",
    }
    assert results["ingest_ratio"] == 0.75


def test_a_zero_baseline_gives_no_ratio() -> None:
    results = assemble({**MEASURED, "bare_asgi_publish_rps": 0}, {})
    assert "ingest_ratio" in results["not_measured"]


def test_written_as_json(tmp_path: Path) -> None:
    path = tmp_path / "bench" / "results" / "latest.json"
    write_results(path, assemble(MEASURED, {}))
    assert json.loads(path.read_text())["ingest_ratio"] == 0.75
