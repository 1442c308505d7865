"""Thin handlers of the jira-writer: the reads it answers for others (request/reply). Its
commands go through the kernel's lane handler (``pdjira_writer.commands``)."""

from __future__ import annotations

from faststream.nats import NatsBroker
from msgspec import Struct
from pdjira_writer.reads import Answer, serve_read

from pdjira_jira_writer.reads import CATALOGS, JiraReads
from pdjira_jira_writer.spec import SPEC

__all__ = ["CONSUMER", "register_reads"]

CONSUMER = SPEC.name  # the durable consumer of commands.jira.>; replicas share it and the reads


def register_reads(broker: NatsBroker, reads: JiraReads) -> None:
    """``reads.jira.<instance>.<what>``: answered with the instance's client (same budget)."""
    answers: dict[str, Answer[Struct]] = {
        "users_by_email": reads.users,
        "search": reads.search,
        "createmeta": reads.create_meta,
        "statuses": reads.statuses,
        "priorities": reads.priorities,
        "changes": reads.changes,  # the reconciliation poller's
        "time_zone": reads.time_zone,  # the rules service's, for JQL dates
        **{what: reads.catalog_of(what) for what in CATALOGS},
    }
    for what, answer in answers.items():
        serve_read(broker, f"reads.jira.*.{what}", answer, queue=CONSUMER)
