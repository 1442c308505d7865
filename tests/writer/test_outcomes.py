"""Applying a command the kernel's way: routes by type, refusals as permanent failures, the
target's client, the echo mark's entity, and the fields an outcome repeats of its command."""

from __future__ import annotations

import pytest
from pdjira_common.contracts import (
    CommandFailed,
    IncidentRef,
    Outcome,
    TransitionIssue,
    UpdateIncident,
    WriteSkipped,
)
from pdjira_common.retry import Retryable
from pdjira_writer.errors import Refused
from pdjira_writer.outcomes import (
    CommandRoutes,
    answering,
    client_of,
    echo_mark,
    skipped,
)
from pdjira_writer.spec import Vendor, WriterSpec

SPEC = WriterSpec(
    name="jira-writer",
    commands="commands.jira.>",
    vendor=Vendor(name="Jira", target="instance", config_key="jira_instances", metric="m"),
)
ROUTES = CommandRoutes(SPEC)
INCIDENT = IncidentRef(account="acme", incident_id="P1")


def move(target: str) -> TransitionIssue:
    return TransitionIssue(
        command_id="c1",
        correlation_id="e1",
        incident=INCIDENT,
        instance="dc1",
        target_status=target,
    )


class Writer:
    @ROUTES.on(TransitionIssue)
    async def transition(self, command: TransitionIssue) -> Outcome:
        if command.target_status == "Nowhere":
            raise Refused("Jira instance 'dc1' refused transition (400): no", status_code=400)
        if command.target_status == "Later":
            raise Retryable("Jira answered 503")
        return skipped(command, f"already {command.target_status}")


async def test_a_command_goes_to_the_method_of_its_type() -> None:
    outcome = await ROUTES.apply(Writer(), move("Done"))
    assert outcome == WriteSkipped(command_id="c1", correlation_id="e1", reason="already Done")


async def test_a_refusal_is_a_permanent_failure_with_its_status() -> None:
    outcome = await ROUTES.apply(Writer(), move("Nowhere"))
    assert outcome == CommandFailed(
        command_id="c1",
        correlation_id="e1",
        reason="Jira instance 'dc1' refused transition (400): no",
        permanent=True,
        status_code=400,
    )


async def test_what_may_pass_later_is_raised_for_the_retry_policy() -> None:
    with pytest.raises(Retryable):
        await ROUTES.apply(Writer(), move("Later"))


async def test_a_command_of_another_writer_fails_naming_the_publishers_mistake() -> None:
    command = UpdateIncident(
        command_id="c2", correlation_id="e2", incident=INCIDENT, status="resolved"
    )
    outcome = await ROUTES.apply(Writer(), command)
    assert isinstance(outcome, CommandFailed)
    assert outcome.permanent
    assert outcome.status_code is None
    assert outcome.reason == (
        "UpdateIncident is not a Jira command; the jira-writer received it on a commands.jira "
        "subject: fix the publisher's subject"
    )


def test_an_unknown_target_says_which_are_configured_and_where() -> None:
    assert client_of({"dc1": "client"}, "dc1", SPEC) == "client"
    with pytest.raises(Refused) as caught:
        client_of({"dc1": "client"}, "elsewhere", SPEC)
    assert caught.value.reason == (
        "unknown Jira instance 'elsewhere' (configured: ['dc1']); add it to jira_instances in "
        "the config or fix the rule that names it"
    )
    with pytest.raises(Refused, match=r"\(configured: none\)"):
        client_of({}, "dc1", SPEC)


def test_the_echo_mark_names_the_entity_as_its_webhook_will() -> None:
    mark = echo_mark("jira", "dc1", "10100", "status", "Done")
    assert (mark.system, mark.entity, mark.field, mark.value) == (
        "jira",
        "jira:dc1:10100",
        "status",
        "Done",
    )


def test_an_outcome_repeats_its_commands_ids_and_incident() -> None:
    assert answering(move("Done")) == {
        "command_id": "c1",
        "correlation_id": "e1",
        "incident": INCIDENT,
    }
