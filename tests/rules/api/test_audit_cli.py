"""``pdjira audit show``: the rules service's decisions, found by correlation id or entity."""

from __future__ import annotations

import asyncio
import json

import nats
import pytest
from pdjira_cli.audit_cmd import format_record, matches
from pdjira_cli.main import main
from pdjira_common import streams, subjects
from pdjira_common.contracts import AuditRecord, RuleVerdict, encode
from pdjira_common.streams import Topology, ensure_topology
from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.ports import free_port

TRIGGER = AuditRecord(
    correlation_id="evt-1",
    service="rules",
    event_id="evt-1",
    event_type="incident.triggered",
    entity="pd:acme:Q1",
    summary="1 command(s): CreateIssue",
    recorded_at="2026-11-26T10:00:00+00:00",
    verdicts=(
        RuleVerdict(
            rule="ops",
            matched=False,
            item="autocreate_issues_config[0]",
            reason="priority P3 not in [P1, P2]: no; urgency high: yes",
        ),
        RuleVerdict(
            rule="ops",
            matched=True,
            item="autocreate_issues_config[1]",
            reason="event incident.trigger in [incident.trigger]: yes",
        ),
    ),
    command_ids=("create:acme:Q1",),
)
OTHER = AuditRecord(
    correlation_id="evt-2",
    service="rules",
    event_id="evt-2",
    event_type="jira:issue_updated",
    entity="jira:dc1:10100",
    summary="echo of our own write: no command",
    recorded_at="2026-11-26T10:00:01+00:00",
)


async def _publish(url: str, *records: AuditRecord) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_topology(js, Topology())
    for record in records:
        subject = subjects.audit(record.correlation_id)
        await js.publish(subject, encode(record), stream=streams.AUDIT)
    await nc.close()


@pytest.mark.parametrize(
    ("key", "found"),
    [
        ("evt-1", True),  # correlation id
        ("pd:acme:Q1", True),  # entity
        ("Q1", True),  # bare incident id
        ("Q", False),
        ("pd:acme:Q2", False),
    ],
)
def test_matches(key: str, found: bool) -> None:
    assert matches(TRIGGER, key) is found


def test_format_names_every_rule_item_and_why() -> None:
    lines = format_record(TRIGGER)
    assert lines[0].startswith("2026-11-26T10:00:00+00:00  incident.triggered  pd:acme:Q1")
    assert lines[1] == "  1 command(s): CreateIssue; commands: create:acme:Q1"
    assert lines[2] == (
        "  - ops / autocreate_issues_config[0]: priority P3 not in [P1, P2]: no; urgency high: yes"
    )
    assert lines[3].startswith("  + ops / autocreate_issues_config[1]: event incident.trigger")


def test_show_finds_by_entity_and_by_correlation_id(
    nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_publish(nats_server.url, TRIGGER, OTHER))
    assert main(["audit", "show", "Q1", "--nats", nats_server.url]) == 0
    out = capsys.readouterr().out
    assert "pd:acme:Q1" in out
    assert "priority P3 not in [P1, P2]" in out
    assert "jira:dc1:10100" not in out

    assert main(["audit", "show", "evt-2", "--json", "--nats", nats_server.url]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line)["entity"] == "jira:dc1:10100"

    assert main(["audit", "show", "nothing-like-it", "--nats", nats_server.url]) == 1
    assert "no audit records about 'nothing-like-it'" in capsys.readouterr().err
    # Only the window asked for is read: the records above are older than "now".
    assert main(["audit", "show", "Q1", "--since", "0", "--nats", nats_server.url]) == 1
    assert "in the last 0 h" in capsys.readouterr().err


def test_no_nats_is_said_plainly(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    assert main(["audit", "show", "evt-1", "--nats", url]) == 2
    assert f"cannot connect to NATS at {url}" in capsys.readouterr().err
