"""Applying PagerDuty commands convergently. Vendor I/O goes through ``PagerDutyApi``, questions
to mapping (users, pairs, echo marks) through ``MappingPort``; decisions are in decisions.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from pdjira_common import subjects
from pdjira_common.contracts import (
    AddNote,
    Command,
    CreateIncident,
    FieldsUpdated,
    IncidentRef,
    IncidentUpdated,
    IssueLinked,
    IssueRef,
    Link,
    NoteAdded,
    Outcome,
    UpdateIncident,
    UpdateIncidentFields,
)
from pdjira_common.logging import get_logger
from pdjira_common.requests import (
    EchoMark,
    PairLookup,
    PairReply,
    PdUser,
    UserLookup,
    UserReply,
    body_digest,
)
from pdjira_writer.catalog import Catalog
from pdjira_writer.errors import Refused
from pdjira_writer.outcomes import CommandRoutes, answering, client_of, echo_mark, skipped
from pdjira_writer.write_order import (
    LastWrites,
    StatusCommand,
    cause_time,
    older_than_last,
    record_write,
    write_key,
)

from pdjira_pd_writer.catalog import PRIORITIES, SERVICES, pd_catalog
from pdjira_pd_writer.decisions import (
    URGENCIES,
    Actor,
    already_there,
    choose_from,
    incident_key,
    jira_author,
    needs_write,
    note_text,
    pick_incident,
    plan_fields,
    posted_note,
    reopened_resolve,
    responder_message,
    status_guard,
)
from pdjira_pd_writer.errors import PagerDutyError
from pdjira_pd_writer.models import IncidentSnapshot, Note, Priority
from pdjira_pd_writer.pd_client import PagerDutyApi
from pdjira_pd_writer.spec import SPEC

__all__ = ["MappingPort", "PdWriter"]

_log = get_logger(__name__)


class MappingPort(Protocol):
    """What the pd-writer asks mapping (the service passes ``MappingAsks``)."""

    async def mark(self, mark: EchoMark) -> None: ...

    async def pair(self, lookup: PairLookup) -> PairReply: ...

    async def user(self, lookup: UserLookup) -> UserReply: ...

    async def link_of_issue(self, instance: str, issue_id: str) -> Link | None: ...


ROUTES = CommandRoutes(SPEC)  # which method applies which command


@dataclass(frozen=True, slots=True, kw_only=True)
class PdWriter:
    clients: Mapping[str, PagerDutyApi]
    mapping: MappingPort
    # Cause time of the last status write per incident (write_order.py says why it is ours).
    last_writes: LastWrites
    # Each account's priorities (to resolve "P1") and services (a rule may name its target).
    catalog: Catalog[PagerDutyApi] = field(default_factory=pd_catalog)

    async def handle(self, command: Command) -> Outcome:
        """The outcome of ``command``; raises Retryable to try again later."""
        return await ROUTES.apply(self, command)

    def outcome_subject(self, command: Command) -> str:
        """``outcomes.pd.<account>``."""
        if isinstance(command, CreateIncident):
            return subjects.outcome("pd", command.account)
        return subjects.outcome("pd", command.incident.account)

    def creates_prerequisite(self, data: bytes) -> bool:
        """Nothing waits in a lane for another of its commands (an incident's commands are
        keyed by the incident, its create by the issue)."""
        return False

    @ROUTES.on(UpdateIncident)
    async def update_incident(self, command: UpdateIncident) -> Outcome:
        """Set the incident's status unless it already has it (then no write, so no echo), or
        a person's newer change (or its resolve) must stand."""
        pd = self._client(command.incident.account)
        incident_id = command.incident.incident_id
        order_key = write_key("pd", command.incident.account, incident_id)
        last = await self.last_writes.get(order_key)
        stale = older_than_last(command.caused_at, last)
        if stale is not None:
            return skipped(command, f"not setting incident {incident_id} {command.status}: {stale}")
        ours_at = last.vendor_changed_at if last is not None else None
        incident = await pd.get_incident(incident_id)
        if not needs_write(incident.status, command.status):
            # The wanted state holds as of this cause: an older cause must not undo it either.
            await self._record(order_key, command, incident.status, ours_at)
            return skipped(command, f"incident {incident_id} is already {incident.status}")
        guard = status_guard(incident, command.status, caused_at=command.caused_at, ours_at=ours_at)
        if guard is not None:
            return skipped(command, f"not setting incident {incident_id} {command.status}: {guard}")
        actor = await self._actor(
            pd, command.incident.account, command.cause, command.actor_user_key
        )
        if actor.email is None:
            return skipped(command, actor.why)
        await self._mark(pd, incident_id, "status", command.status)
        try:
            updated = await pd.update_incident_status(
                incident_id, command.status, from_email=actor.email
            )
        except PagerDutyError as exc:
            if already_there(exc.code, command.status):
                await self._record(order_key, command, command.status, ours_at)
                return skipped(command, f"incident {incident_id} became {command.status} meanwhile")
            raise
        # Before the outcome: the next command of this incident is decided against it, and
        # PagerDuty's time of this change tells it from a person's.
        await self._record(order_key, command, updated.status, updated.last_status_change_at)
        if command.status == "acknowledged":
            undone = await self._restore_raced_resolve(pd, command, updated, actor, order_key)
            if undone is not None:
                return undone
        _log.info(
            "incident_updated",
            incident=incident_id,
            from_status=incident.status,
            to_status=updated.status,
            acting_as=actor.source,
        )
        return IncidentUpdated(
            **answering(command),
            from_status=incident.status,
            to_status=updated.status,
        )

    async def _restore_raced_resolve(
        self,
        pd: PagerDutyApi,
        command: UpdateIncident,
        updated: IncidentSnapshot,
        actor: Actor,
        order_key: str,
    ) -> Outcome | None:
        """A person resolved the incident between our read and our acknowledge, which reopened
        it: resolve it again (their change is newer than our cause) and say so."""
        incident_id = updated.id
        by = updated.last_status_change_by.id if updated.last_status_change_by else None
        entries = await pd.recent_log_entries(incident_id)
        resolve = reopened_resolve(entries, by, updated.last_status_change_at)
        if resolve is None or actor.email is None:
            return None
        resolved_at = cause_time(resolve.created_at)  # to the second: its end
        cause = cause_time(command.caused_at) if command.caused_at else None
        if cause is not None and resolved_at is not None and cause > resolved_at:
            return None  # the acknowledge's cause is the newer change: it stands
        await self._mark(pd, incident_id, "status", "resolved")
        restored = await pd.update_incident_status(incident_id, "resolved", from_email=actor.email)
        await self._record(order_key, command, restored.status, restored.last_status_change_at)
        who = (resolve.agent or {}).get("summary") or "someone"
        _log.warning("raced_resolve_restored", incident=incident_id, resolved_at=resolve.created_at)
        return skipped(
            command,
            f"{who} resolved incident {incident_id} at {resolve.created_at}, between our read "
            "and our acknowledge (which reopened it); resolved it again: the newer change stands",
        )

    async def _record(
        self, key: str, command: StatusCommand, status: str, vendor_changed_at: str | None
    ) -> None:
        await record_write(
            self.last_writes, key, command, status, vendor_changed_at=vendor_changed_at
        )

    @ROUTES.on(CreateIncident)
    async def create_incident(self, command: CreateIncident) -> Outcome:
        """One incident per issue: mapping's link, else the incident with the issue's key as
        ``incident_key``, else a new one carrying that key (PagerDuty then refuses a second
        open one, so a race or a lost answer cannot make two)."""
        pd = self._client(command.account)
        issue = command.issue
        link = await self.mapping.link_of_issue(issue.instance, issue.issue_id)
        if link is not None:
            return self._incident_linked(command, link.incident.incident_id, created=False)
        key = incident_key(issue)
        # Before anything is created: an unknown priority fails the command, naming them all.
        priority = await self._priority(pd, command.priority)
        service = await self.catalog.find(pd, SERVICES, command.service_id)
        existing = pick_incident(await pd.incidents_by_key(key))
        if existing is not None:
            _log.info("incident_found_by_key", incident=existing.id, incident_key=key)
            # Perhaps ours from before a crash, its priority or responders not yet applied.
            await self._apply_after_create(pd, command, existing.id, priority)
            await self._then_status(pd, command, existing.id)
            return self._incident_linked(command, existing.id, created=False)
        actor = await self._actor(pd, command.account, None, None)
        if actor.email is None:
            return skipped(command, actor.why)
        try:
            created = await pd.create_incident(
                service_id=service.id,
                title=command.title,
                details=command.body,
                incident_key=key,
                urgency=command.urgency,
                from_email=actor.email,
                # Set with the create (no separate write, so no priority_updated webhook).
                priority_id=priority.id if priority else None,
            )
        except PagerDutyError as exc:
            if exc.status_code != 400:
                raise
            # "Open incident with matching dedup key already exists": made meanwhile (or by a
            # create whose answer we lost); find it. Any other 400 stays the failure it is.
            found = pick_incident(await pd.incidents_by_key(key))
            if found is None:
                raise
            _log.info("incident_found_after_refusal", incident=found.id, incident_key=key)
            await self._apply_after_create(pd, command, found.id, priority)
            await self._then_status(pd, command, found.id)
            return self._incident_linked(command, found.id, created=False)
        _log.info("incident_created", incident=created.id, incident_key=key)
        # The priority went with the create: applied again only if PagerDuty did not take it.
        taken = created.priority.id if created.priority else None
        missing = priority if priority is not None and taken != priority.id else None
        await self._apply_after_create(pd, command, created.id, missing)
        # Its trigger is our change (so not a person's), as of the command's cause.
        order_key = write_key("pd", command.account, created.id)
        await self._record(order_key, command, created.status, created.last_status_change_at)
        await self._then_status(pd, command, created.id)
        return self._incident_linked(command, created.id, created=True)

    async def _then_status(
        self, pd: PagerDutyApi, command: CreateIncident, incident_id: str
    ) -> None:
        """The status the incident takes right after its create (e.g. resolved: the issue was
        already Done), as an UpdateIncident would set it (same guards). Logged, not the
        outcome: the link must be published whatever happens here."""
        if command.then_status is None:
            return
        update = UpdateIncident(
            command_id=command.command_id,
            correlation_id=command.correlation_id,
            incident=IncidentRef(account=command.account, incident_id=incident_id),
            status=command.then_status,
            cause=command.issue,
            caused_at=command.caused_at,
        )
        try:
            outcome = await self.update_incident(update)
        except Refused as exc:
            _log.error("then_status_failed", incident=incident_id, reason=exc.reason)
            return
        _log.info("then_status_applied", incident=incident_id, outcome=type(outcome).__name__)

    async def _apply_after_create(
        self, pd: PagerDutyApi, command: CreateIncident, incident_id: str, priority: Priority | None
    ) -> None:
        """The create's priority and responders, convergently (as UpdateIncidentFields). A
        refusal is logged, not the outcome: the link must still be published."""
        if priority is None and not command.add_responders:
            return
        fields = UpdateIncidentFields(
            command_id=command.command_id,
            correlation_id=command.correlation_id,
            incident=IncidentRef(account=command.account, incident_id=incident_id),
            priority=priority.id if priority else None,
            add_responders=command.add_responders,
            cause=command.issue,
        )
        try:
            outcome = await self._apply_fields(pd, fields, priority)
        except Refused as exc:
            _log.error("create_fields_failed", incident=incident_id, reason=exc.reason)
            return
        _log.info("create_fields_applied", incident=incident_id, outcome=type(outcome).__name__)

    @ROUTES.on(UpdateIncidentFields)
    async def update_incident_fields(self, command: UpdateIncidentFields) -> Outcome:
        """Set priority / urgency and request responders, only where the incident differs."""
        pd = self._client(command.incident.account)
        if command.urgency is not None and command.urgency not in URGENCIES:
            raise PagerDutyError(
                f"urgency '{command.urgency}' is not one of PagerDuty's urgencies "
                f"({', '.join(URGENCIES)}); fix the urgency in the rule",
                status_code=None,
            )
        priority = await self._priority(pd, command.priority)
        return await self._apply_fields(pd, command, priority)

    async def _apply_fields(
        self, pd: PagerDutyApi, command: UpdateIncidentFields, priority: Priority | None
    ) -> Outcome:
        incident_id = command.incident.incident_id
        incident = await pd.get_incident(incident_id)
        plan = plan_fields(
            incident,
            priority=priority,
            urgency=command.urgency,
            add_responders=command.add_responders,
        )
        if not plan.names:
            asked = [
                f"priority {priority.label}" if priority else "",
                f"urgency {command.urgency}" if command.urgency else "",
                f"responders {', '.join(command.add_responders)}" if command.add_responders else "",
            ]
            wanted = ", ".join(a for a in asked if a) or "nothing to set"
            return skipped(
                command, "; ".join([f"incident {incident_id} already has {wanted}", *plan.notes])
            )
        actor, user = await self._actor_user(
            pd, command.incident.account, command.cause, command.actor_user_key
        )
        if actor.email is None:
            return skipped(command, actor.why)
        requester = None
        if plan.responders:
            # Before any write: a From user PagerDuty does not know fails the command whole.
            requester = await self._requester(pd, actor.email, user)
        if plan.priority is not None or plan.urgency is not None:
            if plan.priority is not None:
                # As the incident.priority_updated webhook will name it: that webhook is ours.
                await self._mark(pd, incident_id, "priority", plan.priority.label)
            await pd.update_incident_fields(
                incident_id,
                priority_id=plan.priority.id if plan.priority else None,
                urgency=plan.urgency,
                from_email=actor.email,
            )
        if plan.responders and requester is not None:
            await pd.request_responders(
                incident_id,
                requester_id=requester,
                user_ids=plan.responders,
                message=responder_message(command.cause),
            )
        _log.info(
            "incident_fields_updated",
            incident=incident_id,
            fields=plan.names,
            acting_as=actor.source,
        )
        for note in plan.notes:
            _log.warning("field_left_alone", incident=incident_id, reason=note)
        return FieldsUpdated(
            command_id=command.command_id,
            correlation_id=command.correlation_id,
            target=f"pd:{pd.account}:{incident_id}",
            fields=plan.names,
            left_alone=tuple(plan.notes),
        )

    async def _requester(self, pd: PagerDutyApi, email: str, user: PdUser | None) -> str:
        """The PagerDuty user id of the ``From`` user (a responder request names its requester)."""
        if user is not None and (user.email or "").casefold() == email.casefold():
            return user.id
        found = await pd.users_by_email(email)
        if not found:
            raise PagerDutyError(
                f"no user of PagerDuty account '{pd.account}' has the e-mail {email}, so it "
                "cannot request responders; set pagerduty_accounts[].from_email to the login "
                "e-mail of a valid PagerDuty user",
                status_code=None,
            )
        return found[0].id

    @staticmethod
    def _incident_linked(
        command: CreateIncident, incident_id: str, *, created: bool
    ) -> IssueLinked:
        return IssueLinked(
            command_id=command.command_id,
            correlation_id=command.correlation_id,
            incident=IncidentRef(account=command.account, incident_id=incident_id),
            issue=command.issue,
            created=created,
        )

    @ROUTES.on(AddNote)
    async def add_note(self, command: AddNote) -> Outcome:
        """Post the comment as a note once, as the mapped PagerDuty user when there is one."""
        pd = self._client(command.incident.account)
        incident_id = command.incident.incident_id
        pair = await self.mapping.pair(
            PairLookup(incident=command.incident, comment_id=command.comment_id)
        )
        if pair.note_id is not None:
            return skipped(command, f"comment {command.comment_id} already has note {pair.note_id}")
        actor, author = await self._note_actor(pd, command)
        if actor.email is None:
            return skipped(command, actor.why)
        text = note_text(command.body, actor, author)
        await self._mark(pd, incident_id, "note", body_digest(text))
        note = await pd.add_note(incident_id, text, from_email=actor.email)
        _log.info("note_added", incident=incident_id, note=note.id, acting_as=actor.source)
        return self._note_added(command, note)

    async def recover(self, command: Command) -> Outcome | None:
        """A note posted before a crash (the command never recorded done) is adopted, not
        posted twice; every other command is convergent and simply applied again."""
        if isinstance(command, UpdateIncident) and command.status == "acknowledged":
            return await self._recover_acknowledge(command)
        if not isinstance(command, AddNote):
            return None
        pd = self._client(command.incident.account)
        actor, author = await self._note_actor(pd, command)
        if actor.email is None:
            return None
        text = note_text(command.body, actor, author)
        posted = posted_note(await pd.notes(command.incident.incident_id), text)
        if posted is None:
            return None
        _log.info("note_adopted", incident=command.incident.incident_id, note=posted.id)
        return self._note_added(command, posted)

    async def _recover_acknowledge(self, command: UpdateIncident) -> Outcome | None:
        """An acknowledge that crashed after its write may have reopened a resolve a person
        made between our read and our write, before we could put it back: do that now."""
        pd = self._client(command.incident.account)
        incident = await pd.get_incident(command.incident.incident_id)
        if incident.status != "acknowledged":
            return None
        actor = await self._actor(
            pd, command.incident.account, command.cause, command.actor_user_key
        )
        order_key = write_key("pd", command.incident.account, incident.id)
        return await self._restore_raced_resolve(pd, command, incident, actor, order_key)

    @staticmethod
    def _note_added(command: AddNote, note: Note) -> NoteAdded:
        return NoteAdded(
            **answering(command),
            issue=command.issue,
            comment_id=command.comment_id,
            note_id=note.id,
        )

    async def _note_actor(self, pd: PagerDutyApi, command: AddNote) -> tuple[Actor, str | None]:
        """``From`` of a note, and how the note names its Jira author when not written as them."""
        reply = None
        if command.author_jira_user_key:
            reply = await self.mapping.user(
                UserLookup(
                    account=command.incident.account,
                    instance=command.issue.instance,
                    jira_user_key=command.author_jira_user_key,
                    jira_user_name=command.author_jira_user_name,
                )
            )
        actor = choose_from(reply, pd.from_email)
        return actor, jira_author(command, reply.jira_user if reply is not None else None)

    async def _actor(
        self, pd: PagerDutyApi, account: str, issue: IssueRef | None, jira_user_key: str | None
    ) -> Actor:
        return (await self._actor_user(pd, account, issue, jira_user_key))[0]

    async def _actor_user(
        self, pd: PagerDutyApi, account: str, issue: IssueRef | None, jira_user_key: str | None
    ) -> tuple[Actor, PdUser | None]:
        """``From`` and, when mapping named them, the PagerDuty user it is."""
        reply = None
        if jira_user_key and issue is not None:
            reply = await self.mapping.user(
                UserLookup(account=account, instance=issue.instance, jira_user_key=jira_user_key)
            )
        return choose_from(reply, pd.from_email), reply.pd_user if reply is not None else None

    async def _mark(self, pd: PagerDutyApi, incident_id: str, what: str, value: str) -> None:
        # Before the write: the webhook it causes is recognised as our own echo.
        await self.mapping.mark(echo_mark("pd", pd.account, incident_id, what, value))

    async def _priority(self, pd: PagerDutyApi, wanted: str | None) -> Priority | None:
        """The priority a rule names (id or name); none named: None."""
        if not wanted:
            return None
        return await self.catalog.find(pd, PRIORITIES, wanted)

    def _client(self, account: str) -> PagerDutyApi:
        return client_of(self.clients, account, SPEC)
