"""Applying PagerDuty commands convergently. Vendor I/O goes through ``PagerDutyApi``, questions
to mapping (users, pairs, echo marks) through ``MappingPort``; decisions are in decisions.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from pdjira_common.contracts import (
    AddNote,
    Command,
    CommandFailed,
    IncidentUpdated,
    IssueRef,
    NoteAdded,
    Outcome,
    UpdateIncident,
    WriteSkipped,
)
from pdjira_common.logging import get_logger
from pdjira_common.requests import (
    EchoMark,
    PairLookup,
    PairReply,
    UserLookup,
    UserReply,
    body_digest,
)

from pdjira_pd_writer.decisions import Actor, already_there, choose_from, needs_write, note_text
from pdjira_pd_writer.errors import PagerDutyError
from pdjira_pd_writer.pd_client import PagerDutyApi

__all__ = ["AgreeingMapping", "MappingPort", "PdWriter"]

_log = get_logger(__name__)


class MappingPort(Protocol):
    """What the pd-writer asks mapping (the service passes ``MappingAsks``)."""

    async def mark(self, mark: EchoMark) -> None: ...

    async def pair(self, lookup: PairLookup) -> PairReply: ...

    async def user(self, lookup: UserLookup) -> UserReply: ...


class AgreeingMapping:
    """A mapping that records every mark and knows no pairs or users (decision-path tests)."""

    async def mark(self, mark: EchoMark) -> None:
        return None

    async def pair(self, lookup: PairLookup) -> PairReply:
        return PairReply(note_id=lookup.note_id, comment_id=lookup.comment_id)

    async def user(self, lookup: UserLookup) -> UserReply:
        return UserReply(reason="no mapping in this test")


@dataclass(frozen=True, slots=True)
class PdWriter:
    clients: Mapping[str, PagerDutyApi]
    mapping: MappingPort = field(default_factory=AgreeingMapping)

    async def handle(self, command: Command) -> Outcome:
        """The outcome of ``command``; raises Retryable to try again later."""
        try:
            if isinstance(command, UpdateIncident):
                return await self.update_incident(command)
            if isinstance(command, AddNote):
                return await self.add_note(command)
            raise PagerDutyError(
                f"{type(command).__name__} is not a PagerDuty command; the pd-writer received "
                "it on a commands.pd subject: fix the publisher's subject",
                status_code=None,
            )
        except PagerDutyError as exc:
            _log.error("command_failed", reason=exc.reason, status_code=exc.status_code)
            return CommandFailed(
                command_id=command.command_id,
                correlation_id=command.correlation_id,
                reason=exc.reason,
                permanent=True,
                status_code=exc.status_code,
            )

    async def update_incident(self, command: UpdateIncident) -> Outcome:
        """Set the incident's status unless it already has it (then no write, so no echo)."""
        pd = self._client(command.incident.account)
        incident_id = command.incident.incident_id
        incident = await pd.get_incident(incident_id)
        if not needs_write(incident.status, command.status):
            return self._skipped(command, f"incident {incident_id} is already {incident.status}")
        actor = await self._actor(
            pd, command.incident.account, command.cause, command.actor_user_key
        )
        if actor.email is None:
            return self._skipped(command, actor.why)
        await self._mark(pd, incident_id, "status", command.status)
        try:
            updated = await pd.update_incident_status(
                incident_id, command.status, from_email=actor.email
            )
        except PagerDutyError as exc:
            if already_there(exc.code, command.status):
                return self._skipped(
                    command, f"incident {incident_id} became {command.status} meanwhile"
                )
            raise
        _log.info(
            "incident_updated",
            incident=incident_id,
            from_status=incident.status,
            to_status=updated.status,
            acting_as=actor.source,
        )
        return IncidentUpdated(
            command_id=command.command_id,
            correlation_id=command.correlation_id,
            incident=command.incident,
            from_status=incident.status,
            to_status=updated.status,
        )

    async def add_note(self, command: AddNote) -> Outcome:
        """Post the comment as a note once, as the mapped PagerDuty user when there is one."""
        pd = self._client(command.incident.account)
        incident_id = command.incident.incident_id
        pair = await self.mapping.pair(
            PairLookup(incident=command.incident, comment_id=command.comment_id)
        )
        if pair.note_id is not None:
            return self._skipped(
                command, f"comment {command.comment_id} already has note {pair.note_id}"
            )
        actor = await self._actor(
            pd, command.incident.account, command.issue, command.author_jira_user_key
        )
        if actor.email is None:
            return self._skipped(command, actor.why)
        text = note_text(command.body, actor, command.author_jira_user_key)
        await self._mark(pd, incident_id, "note", body_digest(text))
        note = await pd.add_note(incident_id, text, from_email=actor.email)
        _log.info("note_added", incident=incident_id, note=note.id, acting_as=actor.source)
        return NoteAdded(
            command_id=command.command_id,
            correlation_id=command.correlation_id,
            incident=command.incident,
            issue=command.issue,
            comment_id=command.comment_id,
            note_id=note.id,
        )

    async def _actor(
        self, pd: PagerDutyApi, account: str, issue: IssueRef | None, jira_user_key: str | None
    ) -> Actor:
        reply = None
        if jira_user_key and issue is not None:
            reply = await self.mapping.user(
                UserLookup(account=account, instance=issue.instance, jira_user_key=jira_user_key)
            )
        return choose_from(reply, pd.from_email)

    async def _mark(self, pd: PagerDutyApi, incident_id: str, what: str, value: str) -> None:
        # Before the write: the webhook it causes is recognised as our own echo.
        await self.mapping.mark(
            EchoMark(system="pd", entity=f"pd:{pd.account}:{incident_id}", field=what, value=value)
        )

    def _client(self, account: str) -> PagerDutyApi:
        client = self.clients.get(account)
        if client is None:
            raise PagerDutyError(
                f"unknown PagerDuty account '{account}' (configured: "
                f"{sorted(self.clients) or 'none'}); add it to pagerduty_accounts in the config "
                "or fix the rule that names it",
                status_code=None,
            )
        return client

    @staticmethod
    def _skipped(command: UpdateIncident | AddNote, reason: str) -> WriteSkipped:
        _log.info("write_skipped", reason=reason)
        return WriteSkipped(
            command_id=command.command_id, correlation_id=command.correlation_id, reason=reason
        )
