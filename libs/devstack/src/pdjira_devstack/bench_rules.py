"""Rules scenario of ``make bench``: the sync path with PagerDuty-style rules instead of the
simple rule set.

The same trigger -> issue latency as the main scenario, measured on a stack whose rules service
holds ``RULES`` PagerDuty-style rules (one matching, the others scoped to other services or
failing their conditions, each with JQL and templates), so every event is evaluated against all
of them and explained in the audit record. Reported as a ratio to the simple-rule latency
measured in the same run; and the throughput of a burst of incidents with ``RULES`` rules as a
ratio to the same burst with the matching rule alone (``rules_500_ratio`` in latest.json).
"""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pdjira_devstack.stack import ACCOUNT, INSTANCE, Stack, StackSettings

__all__ = ["RULES", "rules_scenario"]

RULES = 500


def _rule(i: int, *, matching: bool) -> dict[str, Any]:
    action = {"key": "jira_field_set_labels", "isDisabled": False}
    return {
        "account": ACCOUNT,
        "instance": INSTANCE,
        "priority_map": {"P1": "Highest", "P2": "High"},
        "rule": {
            "name": f"bench rule {i}",
            "enabled": True,
            "config": {
                "sync_comments": True,
                "services": [{"summary": "Checkout API"}],
                "projects": [{"key": "OPS"}],
                "issue_types": [{"label": "Task"}],
                "autocreate_issues": True,
                "autocreate_issues_config": [
                    {
                        # The others fail a condition: half want low urgency, half want P1
                        # (the bench's incidents are high urgency without a priority).
                        "condition": {
                            "pd_events": ["incident.trigger"],
                            "pd_urgency": "high" if matching or i % 2 else "low",
                            "pd_priorities": [] if matching or not i % 2 else [{"label": "P1"}],
                        },
                        "actions": [action],
                        "actions_params": {
                            "jira_field_set_labels": [
                                {"key": "pagerduty", "icon": "text"},
                                {"key": "incident.urgency", "icon": "pd"},
                            ]
                        },
                        "target_issue_type": {"label": "Task"},
                    }
                ],
                "autocreate_incidents": True,
                "autocreate_incidents_config": [
                    {
                        "jql": f'project = OPS AND labels = "bench-{i}" AND priority in (High)',
                        "on_create": True,
                        "on_update": True,
                    }
                ],
            },
        },
    }


async def rules_scenario(
    workdir: Path,
    samples: int,
    simple_p50: float,
    measure: Callable[[Stack, int], Awaitable[list[float]]],
    burst: Callable[[Stack, int, int], Awaitable[float]],
    incidents: int,
    concurrency: int,
    budget: dict[str, float] | None = None,
) -> tuple[list[str], dict[str, Any]]:
    """The sync latency with ``RULES`` rules (ratio to the simple rule set's ``simple_p50``),
    and the burst throughput (``incidents`` at once) with ``RULES`` rules vs 1 rule (the
    matching one alone), each on a fresh stack."""
    rules = [_rule(i, matching=i == RULES - 1) for i in range(RULES)]
    with Stack(
        workdir / "many", StackSettings(rules=[], pagerduty_rules=rules, rate_limit=budget)
    ) as stack:
        latencies = await measure(stack, samples)
        many = await burst(stack, incidents, concurrency)
    alone = [_rule(0, matching=True)]
    with Stack(
        workdir / "one", StackSettings(rules=[], pagerduty_rules=alone, rate_limit=budget)
    ) as stack:
        one = await burst(stack, incidents, concurrency)
    p50 = statistics.median(latencies)
    lines = [
        f"sync latency with {RULES} PagerDuty-style rules (1 matching; JQL, templates, audit of "
        f"every item; {samples} samples): p50 {p50 * 1000:.0f} ms",
        f"  ratio to the simple rule set in this run: {p50 / simple_p50:.2f}x",
        f"burst of {incidents} incidents: {many:,.1f} events/s with {RULES} rules, {one:,.1f} with "
        f"1 rule; ratio {many / one:.3f}",
    ]
    figures = {
        "rules_count": RULES,
        "rules_latency_p50_ms": round(p50 * 1000, 1),
        "rules_burst_incidents": incidents,
        "rules_500_events_per_s": round(many, 1),
        "rules_1_events_per_s": round(one, 1),
    }
    return lines, figures
