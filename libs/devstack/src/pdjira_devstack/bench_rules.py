"""Rules scenario of ``make bench``: the sync path with PagerDuty-style rules instead of the
simple rule set.

The same trigger -> issue latency as the main scenario, measured on a stack whose rules service
holds ``RULES`` PagerDuty-style rules (one matching, the others scoped to other services or
failing their conditions, each with JQL and templates), so every event is evaluated against all
of them and explained in the audit record. Reported as a ratio to the simple-rule latency
measured in the same run.
"""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pdjira_devstack.stack import ACCOUNT, INSTANCE, Stack, StackSettings

__all__ = ["RULES", "rules_latency"]

RULES = 50


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


async def rules_latency(
    workdir: Path,
    samples: int,
    simple_p50: float,
    measure: Callable[[Stack, int], Awaitable[list[float]]],
) -> list[str]:
    rules = [_rule(i, matching=i == RULES - 1) for i in range(RULES)]
    settings = StackSettings(rules=[], pagerduty_rules=rules)
    with Stack(workdir, settings) as stack:
        measure_ = await measure(stack, samples)
    p50 = statistics.median(measure_)
    return [
        f"sync latency with {RULES} PagerDuty-style rules (1 matching; JQL, templates, audit of "
        f"every item; {samples} samples): p50 {p50 * 1000:.0f} ms",
        f"  ratio to the simple rule set in this run: {p50 / simple_p50:.2f}x",
    ]
