"""A rule whose JQL Jira refuses (its fallback search answered 400): the rule is refused with
Jira's words, the event is decided (not retried, not dead-lettered), and the rule is not asked
about again until it is changed. Real nats-server; a fake jira-writer answers the search."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from pdjira_common import streams
from pdjira_common.contracts import decode_audit, encode
from pdjira_common.requests import JiraSearchRead, JiraSearchReply

from ..builders import issue_event
from .conftest import FakeMapping, RunRules, drained, publish_event, stream_messages

JIRA_SAYS = "The operator '=' is not supported by the 'Impacted Service' field."
JQL = 'project = OPS AND "Impacted Service" = checkout'  # a text custom field: Jira says 400
RULE: dict[str, Any] = {
    "account": "acme",
    "instance": "dc1",
    "rule": {
        "name": "checkout pages",
        "enabled": True,
        "config": {
            "services": [{"summary": "Checkout API"}],
            "projects": [{"key": "OPS"}],
            "issue_types": [{"label": "Task"}],
            "autocreate_incidents": True,
            "autocreate_incidents_config": [{"jql": JQL, "on_create": True, "on_update": True}],
        },
    },
}
_search = msgspec.json.Decoder(JiraSearchRead)


@pytest.fixture
async def searches(nc: Client) -> AsyncIterator[list[JiraSearchRead]]:
    """jira-writer's search read, answered as it answers Jira's 400: rejected, Jira's words."""
    asked: list[JiraSearchRead] = []

    async def answer(msg: Msg) -> None:
        asked.append(_search.decode(msg.data))
        reply = JiraSearchReply(error=f"Jira refused search (400): {JIRA_SAYS}", rejected=True)
        await msg.respond(encode(reply))

    sub = await nc.subscribe("reads.jira.dc1.search", cb=answer)
    await nc.flush()
    try:
        yield asked
    finally:
        await sub.unsubscribe()


async def test_a_jql_jira_rejects_refuses_the_rule_once_and_is_not_retried(
    nc: Client, mapping: FakeMapping, run_rules: RunRules, searches: list[JiraSearchRead]
) -> None:
    await mapping.start()
    await run_rules(rules=[], pagerduty_rules=[RULE])
    created = issue_event(
        event_id="jira:dc1:created",
        correlation_id="jira:dc1:created",
        webhook_event="jira:issue_created",
        issue_event_type="issue_created",
    )
    await publish_event(nc, created, "jira:dc1:created")
    await drained(nc)

    assert len(searches) == 1  # asked once: a 400 is not retried
    assert JQL in searches[0].jql
    assert await stream_messages(nc, streams.DLQ) == []
    assert await stream_messages(nc, streams.COMMANDS) == []
    [audit] = await stream_messages(nc, streams.AUDIT)
    record = decode_audit(audit.data or b"")
    [verdict] = [v for v in record.verdicts if v.rule == "checkout pages"]
    assert verdict.matched is False
    assert "refused" in verdict.reason
    assert f"Jira refused this JQL: Jira refused search (400): {JIRA_SAYS}" in verdict.reason

    # A later change of the issue: the refused rule is not asked about again.
    updated = issue_event(
        event_id="jira:dc1:updated",
        correlation_id="jira:dc1:updated",
        webhook_event="jira:issue_updated",
        timestamp_ms=created.timestamp_ms + 60_000,
    )
    await publish_event(nc, updated, "jira:dc1:updated")
    await drained(nc)
    assert len(searches) == 1
    records = [decode_audit(m.data or b"") for m in await stream_messages(nc, streams.AUDIT)]
    [later] = [r for r in records if r.correlation_id == "jira:dc1:updated"]
    assert any(
        v.rule == "checkout pages" and JIRA_SAYS in v.reason and not v.matched
        for v in later.verdicts
    )
    assert await stream_messages(nc, streams.DLQ) == []
