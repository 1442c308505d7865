"""Catalog reads and the JQL fallback over NATS, answered by fake writers."""

from __future__ import annotations

import re

import pytest
from nats.aio.client import Client
from pdjira_common.bus import Retryable
from pdjira_rules.catalog import create_targets, fetch_jira_catalog, fetch_pd_catalog
from pdjira_rules.reads import JqlFallback, NatsReads, ReadFailed, WriterUnavailable
from pdjira_rules.rule_loading import decode_wrapper
from pdjira_rules.rule_validation import JiraProject, Named

from .conftest import FakeWriters
from .test_loading import pd_rule


async def test_catalogs_are_read_from_the_writers(nc: Client, writers: FakeWriters) -> None:
    reads = NatsReads(lambda: nc, timeout=1.0)
    rule = pd_rule(
        autocreate_issues=True,
        autocreate_issues_config=[
            {"condition": {"pd_events": ["incident.trigger"]}},
            {
                "condition": {"pd_events": ["incident.trigger"]},
                "target_project": {"key": "PD"},
                "target_issue_type": {"label": "Bug"},
            },
        ],
    )
    wrapped = decode_wrapper({"rule": rule}, ["acme"], ["dc1"])
    jira = await fetch_jira_catalog(reads, "dc1", create_targets([wrapped.rule]))
    assert [s.name for s in jira.statuses] == ["To Do", "In Progress", "Done"]
    assert jira.projects[1] == JiraProject(id="10100", key="OPS", name="Operations")
    assert Named(id="10004", name="Bug") in jira.issue_types
    assert [r.name for r in jira.resolutions] == ["Done", "Won't Do"]
    assert jira.fields["customfield_10010"] == "Team"
    assert jira.required_fields == {
        "OPS": {"Task": ("summary", "customfield_10010")},
        "PD": {"Bug": ("summary",)},
    }
    pd = await fetch_pd_catalog(reads, "acme")
    assert [s.name for s in pd.services] == ["Web"]
    assert [p.name for p in pd.priorities] == ["P1", "P2", "P3"]


async def test_no_writer_names_who_did_not_answer(nc: Client) -> None:
    reads = NatsReads(lambda: nc, timeout=0.5)
    with pytest.raises(WriterUnavailable) as caught:
        await fetch_pd_catalog(reads, "acme")
    assert str(caught.value).startswith("pd-writer for account acme did not answer reads.pd.acme.")
    assert str(caught.value).endswith("within 0.5 s; is it running?")


async def test_jql_fallback_asks_once_per_ttl(nc: Client, writers: FakeWriters) -> None:
    now = [100.0]
    jql = JqlFallback(NatsReads(lambda: nc, timeout=1.0), ttl=10.0, clock=lambda: now[0])
    writers.matching = {"OPS-1"}
    assert await jql.ask("dc1", "OPS-1", "project = OPS ORDER BY created") is True
    assert writers.searches == ['key = "OPS-1" AND (project = OPS)']
    assert await jql.ask("dc1", "OPS-1", "project = OPS ORDER BY created") is True
    assert await jql.ask("dc1", "OPS-2", "project = OPS ORDER BY created") is False
    assert jql.asked == 2  # the second question for OPS-1 came from the cache
    writers.matching = set()
    now[0] += 11.0  # expired: asked again, Jira's new answer counts
    assert await jql.ask("dc1", "OPS-1", "project = OPS ORDER BY created") is False
    assert jql.asked == 3


async def test_jql_fallback_asks_again_for_a_later_event(nc: Client, writers: FakeWriters) -> None:
    """An issue created unassigned, then assigned a second later: the answer about the create
    must not be reused for the update, however short the TTL."""
    jql = JqlFallback(NatsReads(lambda: nc, timeout=1.0), ttl=60.0)
    query = "assignee = currentUser()"
    assert await jql.ask("dc1", "OPS-1", query, as_of=1000) is False
    writers.matching = {"OPS-1"}
    assert await jql.ask("dc1", "OPS-1", query, as_of=1000) is False  # same event: cached
    assert await jql.ask("dc1", "OPS-1", query, as_of=2000) is True  # later event: asked
    assert jql.asked == 2


async def test_jql_fallback_never_guesses(nc: Client, writers: FakeWriters) -> None:
    jql = JqlFallback(NatsReads(lambda: nc, timeout=0.5), ttl=10.0)
    writers.failing["reads.jira.dc1.search"] = "Jira answered 500"
    failed = re.escape("could not answer reads.jira.dc1.search: Jira answered 500")
    with pytest.raises(Retryable, match=failed):
        await jql.ask("dc1", "OPS-1", "project = OPS")
    writers.failing.clear()
    writers.silent.add("reads.jira.dc1.search")
    silent = re.escape("did not answer reads.jira.dc1.search within 0.5 s")
    with pytest.raises(Retryable, match=silent):
        await jql.ask("dc1", "OPS-1", "project = OPS")
    writers.silent.clear()
    writers.matching = {"OPS-1"}
    assert await jql.ask("dc1", "OPS-1", "project = OPS") is True  # failures were not cached


async def test_read_error_is_a_read_failure(nc: Client, writers: FakeWriters) -> None:
    writers.failing["reads.jira.dc1.fields"] = "HTTP 403"
    with pytest.raises(ReadFailed, match="jira-writer for instance dc1 could not answer"):
        await fetch_jira_catalog(NatsReads(lambda: nc, timeout=1.0), "dc1")
