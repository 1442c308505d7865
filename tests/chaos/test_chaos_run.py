"""A shortened ``make chaos`` (scale 0.1: ~32 incidents, 4 Jira-born issues, 12 notes and
comments, one kill -9 per service, one broker restart, an ingest outage, vendor and webhook
faults): the same checks as the full run, all of them must pass."""

from __future__ import annotations

from pathlib import Path

import pytest
from pdjira_devstack.chaos import run_chaos
from pdjira_devstack.chaos_report import render_table

# Part of `make test` (in a worker group of its own); `make chaos-short` runs it alone.
pytestmark = [pytest.mark.e2e, pytest.mark.chaos, pytest.mark.xdist_group("chaos-short-run")]


async def test_a_short_chaos_run_converges_with_nothing_lost_duplicated_or_overridden(
    tmp_path: Path,
) -> None:
    report = await run_chaos(tmp_path / "chaos", seed=11, scale=0.1, say=lambda _: None)
    assert report.failed == [], render_table(report)
