"""``pdjira jql check --instance``: which clauses are decided locally and which by Jira, against
an instance's fields and the integration user's zone (read over NATS from a fake jira-writer)."""

from __future__ import annotations

import argparse
import asyncio

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from pdjira_cli.jql_instance import InstanceFacts, describe, read_facts, run_instance
from pdjira_cli.main import main
from pdjira_common.contracts import encode
from pdjira_common.jira_zone import JiraTimeZoneReply
from pdjira_common.requests import JiraNamed, JiraNamesReply
from pdjira_devstack.nats_server import NatsServer

TEXT = "com.atlassian.jira.plugin.system.customfieldtypes:textfield"
FACTS = InstanceFacts(
    fields={"summary": "Summary", "customfield_10102": "Impacted Service"},
    text_fields=("customfield_10102",),
    time_zone="Europe/Berlin",
)


def test_each_clause_says_where_it_is_decided() -> None:
    lines, code = describe(
        'project = OPS AND summary ~ port AND created > "2026-11-20" AND "Impacted Service" ~ x',
        FACTS,
    )
    assert code == 0
    assert lines[0] == "integration user's time zone: Europe/Berlin"
    assert lines[1].startswith("locally  project = OPS")
    assert lines[2].startswith("by Jira  summary ~ port")
    assert lines[3].startswith('locally  created > "2026-11-20"')  # the zone is known
    assert lines[4].startswith('by Jira  "Impacted Service" ~ x')


def test_without_the_zone_absolute_dates_go_to_jira() -> None:
    facts = InstanceFacts(fields={}, text_fields=(), time_zone=None, problems=("no zone",))
    lines, code = describe('created > "2026-11-20"', facts)
    assert code == 0
    assert lines[0] == "note: no zone"
    assert lines[2].startswith('by Jira  created > "2026-11-20"')
    assert "time zone" in lines[2]


@pytest.mark.parametrize(
    ("jql", "said"),
    [
        (
            '"Impacted Service" = checkout',
            "The operator '=' is not supported by the 'Impacted Service' field.",
        ),
        ("project = ", "Error in the JQL Query"),
    ],
)
def test_what_jira_refuses_is_said_in_its_words(jql: str, said: str) -> None:
    lines, code = describe(jql, FACTS)
    assert code == 1
    assert said in lines[0]


async def test_facts_are_read_from_the_jira_writer(nc: Client, nats_server: NatsServer) -> None:
    async def fields(msg: Msg) -> None:
        items = (
            JiraNamed(id="summary", name="Summary"),
            JiraNamed(id="customfield_10102", name="Impacted Service", custom_type=TEXT),
        )
        await msg.respond(encode(JiraNamesReply(items=items)))

    async def zone(msg: Msg) -> None:
        await msg.respond(encode(JiraTimeZoneReply(time_zone="Europe/Berlin")))

    subs = [
        await nc.subscribe("reads.jira.dc1.fields", cb=fields),
        await nc.subscribe("reads.jira.dc1.time_zone", cb=zone),
    ]
    await nc.flush()
    try:
        facts = await read_facts(nc, "dc1")
        assert facts == InstanceFacts(
            fields={"summary": "Summary", "customfield_10102": "Impacted Service"},
            text_fields=("customfield_10102",),
            time_zone="Europe/Berlin",
        )
        args = argparse.Namespace(config=None, nats=nats_server.url, instance="dc1")
        # The command runs its own event loop (as from the shell): off this one.
        assert await asyncio.to_thread(run_instance, args, '"Impacted Service" = x') == 1
        # The same through `pdjira jql check QUERY --instance dc1`.
        argv = ["jql", "check", "project = OPS AND summary ~ port", "--instance", "dc1"]
        argv += ["--nats", nats_server.url]
        assert await asyncio.to_thread(main, argv) == 0
    finally:
        for sub in subs:
            await sub.unsubscribe()


async def test_no_jira_writer_is_said(nc: Client) -> None:
    facts = await read_facts(nc, "dc9")
    assert facts.time_zone is None
    assert len(facts.problems) == 2
    assert "is the jira-writer running?" in facts.problems[0]
