"""``pdjira jql check "<query>" --instance I``: which clauses the rules service decides itself
and which it asks Jira, against instance I (its custom fields and the integration user's time
zone, read from the jira-writer over NATS), and what Jira would refuse outright.

For ``jql_cmd`` to call: :func:`add_instance_option` on its parser, then, when ``--instance``
is given, :func:`run_instance` (exit 0: Jira takes the query; 1: Jira would refuse it; 2: the
instance could not be asked). :func:`describe` is the pure part.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

import msgspec
from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from pdjira_common.config import ConfigError
from pdjira_common.jira_zone import TIME_ZONE_READ, JiraTimeZoneRead, JiraTimeZoneReply
from pdjira_common.requests import JiraCatalogRead, JiraNamesReply, jira_read_subject
from pdjira_rules.jql import JqlSyntaxError, clause_plan, parse
from pdjira_rules.jql.operators import is_text_field_type, unsupported_operators

from pdjira_cli.nats_access import _connect, nats_settings

__all__ = ["InstanceFacts", "add_instance_option", "describe", "read_facts", "run_instance"]

_READ_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class InstanceFacts:
    """What the rules service knows of an instance when it evaluates JQL."""

    fields: Mapping[str, str]  # field id -> name (custom fields by name resolve through it)
    text_fields: tuple[str, ...]  # ids of custom fields Jira searches as text
    time_zone: str | None  # the integration user's zone; None: not known
    problems: tuple[str, ...] = ()  # what could not be read, said plainly


def describe(jql: str, facts: InstanceFacts) -> tuple[list[str], int]:
    """The lines to print and the exit code (0: Jira takes it, 1: Jira refuses it)."""
    try:
        query = parse(jql)
    except JqlSyntaxError as exc:
        return [f"Jira refuses this JQL: {exc}"], 1
    refused = unsupported_operators(query, facts.fields, facts.text_fields)
    if refused:
        lines = [f"Jira refuses this JQL: {m}" for m in refused]
        return [*lines, "a rule with it is refused; use ~ (contains) on text fields"], 1
    field_ids = {name: fid for fid, name in facts.fields.items() if fid.startswith("customfield_")}
    lines = [f"note: {p}" for p in facts.problems]
    zone = facts.time_zone or "not known (date clauses with absolute dates go to Jira)"
    lines.append(f"integration user's time zone: {zone}")
    plans = clause_plan(query, field_ids, zone_known=facts.time_zone is not None)
    if not plans:
        lines.append("no conditions: every issue matches (decided locally)")
    for plan in plans:
        where = "locally" if plan.local else "by Jira"
        lines.append(f"{where}  {plan.clause}  ({plan.why})")
    return lines, 0


async def _ask(
    nc: NATS, subject: str, message: msgspec.Struct, reply: type[msgspec.Struct]
) -> object:
    try:
        answer = await nc.request(subject, msgspec.json.encode(message), timeout=_READ_TIMEOUT)
    except (NoRespondersError, TimeoutError):
        return f"nobody answered {subject} within {_READ_TIMEOUT:g} s; is the jira-writer running?"
    try:
        return msgspec.json.decode(answer.data, type=reply)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return (
            f"a bad reply on {subject} ({exc}); are the jira-writer and this CLI the same version?"
        )


async def read_facts(nc: NATS, instance: str) -> InstanceFacts:
    """The instance's fields and the integration user's zone, from the jira-writer."""
    problems: list[str] = []
    fields: dict[str, str] = {}
    text: list[str] = []
    names = await _ask(
        nc,
        jira_read_subject(instance, "fields"),
        JiraCatalogRead(instance=instance, what="fields"),
        JiraNamesReply,
    )
    if isinstance(names, JiraNamesReply) and names.error is None:
        fields = {f.id: f.name for f in names.items}
        text = [f.id for f in names.items if is_text_field_type(f.custom_type)]
    else:
        why = names.error if isinstance(names, JiraNamesReply) else names
        problems.append(f"the fields of Jira instance {instance!r} could not be read: {why}")
    zone_reply = await _ask(
        nc,
        jira_read_subject(instance, TIME_ZONE_READ),
        JiraTimeZoneRead(instance=instance),
        JiraTimeZoneReply,
    )
    zone: str | None = None
    if isinstance(zone_reply, JiraTimeZoneReply) and zone_reply.error is None:
        zone = zone_reply.time_zone
    else:
        why = zone_reply.error if isinstance(zone_reply, JiraTimeZoneReply) else zone_reply
        problems.append(f"the integration user's time zone could not be read: {why}")
    return InstanceFacts(fields, tuple(text), zone, tuple(problems))


def add_instance_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--instance",
        help="a configured Jira instance id: say which clauses the rules service decides "
        "itself and which it asks that Jira (reads its fields and time zone over NATS)",
    )


def run_instance(args: argparse.Namespace, jql: str) -> int:
    """Print the plan of ``jql`` against ``args.instance`` (NATS from ``--config`` / ``--nats``
    as :func:`pdjira_cli.nats_access.add_nats_options` adds them); the exit code."""
    try:
        settings = nats_settings(args)
    except ConfigError as exc:
        print(f"error: {exc}")
        return 2

    async def run() -> InstanceFacts:
        nc = await _connect(settings)
        try:
            return await read_facts(nc, str(args.instance))
        finally:
            await nc.close()

    try:
        facts = asyncio.run(run())
    except ConfigError as exc:
        print(f"error: {exc}")
        return 2
    lines, code = describe(jql, facts)
    for line in lines:
        print(line)
    return code
