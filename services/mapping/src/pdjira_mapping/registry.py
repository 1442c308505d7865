"""The registries behind the requests and the admin API: users, echo marks, note/comment pairs
and last-written state. I/O (KV, the writers' reads) here; decisions in the pure modules."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import msgspec
from pdjira_common.config import MappingSettings
from pdjira_common.contracts import (
    CommentAdded,
    IncidentRef,
    IncidentUpdated,
    IssueTransitioned,
    NoteAdded,
)
from pdjira_common.identity import SelfLinkRequest
from pdjira_common.requests import (
    EchoConsume,
    EchoMark,
    JiraUser,
    PairLookup,
    PairReply,
    PdUser,
    UserLookup,
    UserReply,
)

from pdjira_mapping.echo import add_mark, consume_mark, echo_key
from pdjira_mapping.kvstore import TypedBucket
from pdjira_mapping.links import comment_key, note_key, state_key
from pdjira_mapping.models import EmailEntry, LinkState, ManualLink, Marks, Pair
from pdjira_mapping.reads import ReadFailed, Reads
from pdjira_mapping.users import (
    Side,
    choose,
    email_key,
    is_fresh,
    jira_by_email,
    manual_key,
    self_link_conflict,
    whoami_problem,
)

__all__ = ["EchoRegistry", "PairRegistry", "UserError", "UserRegistry"]

Clock = Callable[[], float]


def _iso(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).isoformat()


class UserError(Exception):
    """An admin request that cannot be done; the message says what is wrong and what to do."""


class UserRegistry:
    """PagerDuty user <-> Jira user per account/instance: manual links, e-mail, fallback."""

    def __init__(
        self,
        manual: TypedBucket[ManualLink],
        cache: TypedBucket[EmailEntry],
        reads: Reads,
        settings: MappingSettings,
        clock: Clock = time.time,
    ) -> None:
        self._manual = manual
        self._cache = cache
        self._reads = reads
        self._settings = settings
        self._clock = clock

    async def lookup(self, query: UserLookup) -> UserReply:
        if (query.pd_user_id is None) == (query.jira_user_key is None):
            problem = "give exactly one of pd_user_id and jira_user_key"
            return UserReply(reason=problem, error=problem)
        side: Side = "pd" if query.pd_user_id is not None else "jira"
        user = query.pd_user_id or query.jira_user_key or ""
        fallback = self._settings.fallback(query.account, query.instance)
        manual = await self._manual.get(manual_key(side, query.account, query.instance, user))
        if manual is not None:
            return choose(side, manual=manual, email=None, fallback=fallback)
        key = email_key(side, query.account, query.instance, user)
        entry = await self._cache.get(key)
        ttl = self._settings.email_cache_ttl
        if entry is None or not is_fresh(entry, now=self._clock(), ttl=ttl):
            try:
                entry = await self._email_lookup(side, query)
            except ReadFailed as exc:
                return choose(
                    side, manual=None, email=None, fallback=fallback, email_error=str(exc)
                )
            await self._cache.put(key, entry)
        return choose(side, manual=None, email=entry, fallback=fallback)

    async def automap(
        self, account: str, instance: str, pd_user_id: str, *, save: bool
    ) -> UserReply:
        """A fresh e-mail lookup for one PagerDuty user (cache refreshed); ``save``: keep a hit
        as a manual link. Raises UserError when a writer cannot be asked."""
        query = UserLookup(account=account, instance=instance, pd_user_id=pd_user_id)
        try:
            entry = await self._email_lookup("pd", query)
        except ReadFailed as exc:
            raise UserError(f"cannot look up {pd_user_id} by e-mail: {exc}") from exc
        await self._cache.put(email_key("pd", account, instance, pd_user_id), entry)
        if save and entry.found and entry.pd_user and entry.jira_user:
            await self._store(account, instance, entry.pd_user, entry.jira_user)
        return choose("pd", manual=None, email=entry, fallback=None)

    async def _email_lookup(self, side: Side, query: UserLookup) -> EmailEntry:
        now = self._clock()
        if side == "pd":
            user_id = query.pd_user_id or ""
            pd = await self._reads.pd_user(query.account, user_id)
            if pd is None:
                return EmailEntry(
                    pd_user=PdUser(id=user_id),
                    found=False,
                    reason=f"PagerDuty user {user_id} not found",
                    cached_at=now,
                )
            if not pd.email:
                reason = f"PagerDuty user {user_id} has no e-mail"
                return EmailEntry(pd_user=pd, found=False, reason=reason, cached_at=now)
            jira, reason = jira_by_email(
                await self._reads.jira_users(query.instance, pd.email), pd.email
            )
            reason = reason or f"same e-mail {pd.email}"
            return EmailEntry(
                pd_user=pd, jira_user=jira, found=jira is not None, reason=reason, cached_at=now
            )
        key = query.jira_user_key or ""
        name = query.jira_user_name or key
        me = await self._jira_user_of_key(query.instance, key, query.jira_user_name)
        if me is None:
            me = JiraUser(name=name, key=key)
            reason = f"Jira user {name} ({key}) not found"
            return EmailEntry(jira_user=me, found=False, reason=reason, cached_at=now)
        if not me.email:
            reason = f"Jira user {me.name} has no visible e-mail"
            return EmailEntry(jira_user=me, found=False, reason=reason, cached_at=now)
        pd_match = await self._reads.pd_user_by_email(query.account, me.email)
        if pd_match is None or (pd_match.email or "").casefold() != me.email.casefold():
            reason = f"no PagerDuty user with e-mail {me.email}"
            return EmailEntry(jira_user=me, found=False, reason=reason, cached_at=now)
        return EmailEntry(
            pd_user=pd_match,
            jira_user=me,
            found=True,
            reason=f"same e-mail {me.email}",
            cached_at=now,
        )

    async def _jira_user_of_key(self, instance: str, key: str, name: str | None) -> JiraUser | None:
        """The Jira user of ``key`` (with e-mail and display name). Jira's user search matches
        username, name and e-mail, never the key (``JIRAUSER10100``): the login is searched
        when known, else (or when that finds nobody with the key) the key is read."""
        if name:
            candidates = await self._reads.jira_users(instance, name)
            me = next((u for u in candidates if u.key == key), None)
            if me is not None:
                return me
        return await self._reads.jira_user_by_key(instance, key)

    async def link(
        self, account: str, instance: str, pd_user_id: str, jira_user: str
    ) -> ManualLink:
        """Link by hand, after checking both users exist (through the writers)."""
        try:
            pd = await self._reads.pd_user(account, pd_user_id)
            candidates = await self._reads.jira_users(instance, jira_user)
        except ReadFailed as exc:
            raise UserError(f"cannot check the users exist: {exc}") from exc
        if pd is None:
            raise UserError(
                f"PagerDuty user {pd_user_id} not found in account {account!r}; "
                "use the user's id (e.g. PXXXXXX) from PagerDuty"
            )
        wanted = jira_user.casefold()
        jira = next(
            (u for u in candidates if wanted in (u.name.casefold(), u.key.casefold())), None
        )
        if jira is None:  # a key (the search matches logins and e-mails only)
            try:
                jira = await self._reads.jira_user_by_key(instance, jira_user)
            except ReadFailed as exc:
                raise UserError(f"cannot check the users exist: {exc}") from exc
        if jira is None:
            raise UserError(
                f"Jira user {jira_user!r} not found on instance {instance!r}; "
                "give the login name (username) of the Jira user"
            )
        return await self._store(account, instance, pd, jira)

    async def self_link(self, request: SelfLinkRequest) -> ManualLink:
        """A person links their own two users: each token must name a user (checked by the
        writers, with PagerDuty ``/users/me`` and Jira ``/myself``), and neither user may be
        linked to someone else already (an admin unlinks that first). Idempotent."""
        account, instance = request.account, request.instance
        try:
            pd_answer = await self._reads.pd_whoami(account, request.pd_token)
            jira_answer = await self._reads.jira_whoami(instance, request.jira_token)
        except ReadFailed as exc:
            raise UserError(f"cannot check the tokens now: {exc}; try again later") from exc
        problem = whoami_problem(pd_answer, jira_answer)
        if problem is not None:
            raise UserError(problem)
        pd, jira = pd_answer.pd_user, jira_answer.jira_user
        if pd is None or jira is None:  # whoami_problem said so already
            raise UserError("the tokens name no users")
        mine = await self._manual.get(manual_key("pd", account, instance, pd.id))
        theirs = await self._manual.get(manual_key("jira", account, instance, jira.key))
        conflict = self_link_conflict(pd, jira, mine, theirs)
        if conflict is not None:
            raise UserError(conflict)
        if mine is not None and mine.jira_user.key == jira.key:
            return mine  # already linked to each other
        return await self._store(account, instance, pd, jira)

    async def _store(self, account: str, instance: str, pd: PdUser, jira: JiraUser) -> ManualLink:
        reverse = await self._manual.get(manual_key("jira", account, instance, jira.key))
        if reverse is not None and reverse.pd_user.id != pd.id:
            raise UserError(
                f"Jira user {jira.name} is already linked to PagerDuty user "
                f"{reverse.pd_user.id}; unlink that first (pdjira users unlink "
                f"{reverse.pd_user.id})"
            )
        old = await self._manual.get(manual_key("pd", account, instance, pd.id))
        if old is not None and old.jira_user.key != jira.key:
            await self._manual.delete(manual_key("jira", account, instance, old.jira_user.key))
        link = ManualLink(
            account=account,
            instance=instance,
            pd_user=pd,
            jira_user=jira,
            linked_at=_iso(self._clock()),
        )
        await self._manual.put(manual_key("pd", account, instance, pd.id), link)
        await self._manual.put(manual_key("jira", account, instance, jira.key), link)
        return link

    async def import_row(
        self,
        account: str,
        instance: str,
        *,
        pd_user_id: str | None,
        email: str | None,
        jira_user: str | None,
    ) -> ManualLink | None:
        """One row of a user CSV: link to ``jira_user`` if given, else by e-mail (saved as a
        manual link). None: no Jira user has the e-mail. Raises UserError naming the problem."""
        if not pd_user_id:
            if not email:
                raise UserError("the row has neither a PagerDuty user id nor an e-mail")
            try:
                pd = await self._reads.pd_user_by_email(account, email)
            except ReadFailed as exc:
                raise UserError(f"cannot find the PagerDuty user of {email}: {exc}") from exc
            if pd is None:
                raise UserError(f"no PagerDuty user with e-mail {email} in account {account!r}")
            pd_user_id = pd.id
        if jira_user:
            return await self.link(account, instance, pd_user_id, jira_user)
        reply = await self.automap(account, instance, pd_user_id, save=True)
        if reply.source != "email":
            return None
        return await self._manual.get(manual_key("pd", account, instance, pd_user_id))

    async def unlink(self, account: str, instance: str, pd_user_id: str) -> ManualLink | None:
        link = await self._manual.get(manual_key("pd", account, instance, pd_user_id))
        if link is None:
            return None
        await self._manual.delete(manual_key("pd", account, instance, pd_user_id))
        await self._manual.delete(manual_key("jira", account, instance, link.jira_user.key))
        return link

    async def rekey_manual_links(self) -> int:
        """Move manual links stored under an older key form to today's (before key tokens were
        bounded, ``john.doe`` was stored as ``john_doe``); how many moved. Run at start."""
        moved = 0
        for key in await self._manual.keys("manual.>"):
            link = await self._manual.get(key)
            if link is None:
                continue
            side: Side = "pd" if key.startswith("manual.pd.") else "jira"
            user = link.pd_user.id if side == "pd" else link.jira_user.key
            wanted = manual_key(side, link.account, link.instance, user)
            if wanted != key:
                await self._manual.put(wanted, link)
                await self._manual.delete(key)
                moved += 1
        return moved

    async def manual_links(self, account: str | None, instance: str | None) -> list[ManualLink]:
        links = []
        for key in await self._manual.keys("manual.pd.>"):
            link = await self._manual.get(key)
            if link is None:
                continue
            if account not in (None, link.account) or instance not in (None, link.instance):
                continue
            links.append(link)
        return sorted(links, key=lambda x: (x.account, x.instance, x.pd_user.id))


class EchoRegistry:
    """Echo marks: recorded before our writes, consumed by the events they cause."""

    def __init__(self, marks: TypedBucket[Marks], *, max_ttl: float, clock: Clock = time.time):
        self._marks = marks
        self._max_ttl = max_ttl
        self._clock = clock

    async def mark(self, mark: EchoMark) -> None:
        ttl = min(max(mark.ttl_seconds, 0.001), self._max_ttl)
        key = echo_key(mark.system, mark.entity, mark.field, mark.value)
        await self._marks.update(key, lambda cur: add_mark(cur, now=self._clock(), ttl=ttl))

    async def consume(self, query: EchoConsume) -> bool:
        key = echo_key(query.system, query.entity, query.field, query.value)
        matched = False

        def change(current: Marks | None) -> Marks | None:
            nonlocal matched
            after, matched = consume_mark(current, now=self._clock(), event_id=query.event_id)
            return after

        if await self._marks.get(key) is None:  # the common case: not an echo, no write
            return False
        await self._marks.update(key, change)
        return matched


class PairRegistry:
    """Note <-> comment pairs of each link, and the last state we wrote on each side."""

    def __init__(
        self,
        pairs: TypedBucket[Pair],
        states: TypedBucket[LinkState],
        clock: Clock = time.time,
    ) -> None:
        self._pairs = pairs
        self._states = states
        self._clock = clock

    async def record(self, outcome: CommentAdded | NoteAdded) -> bool:
        """Keep the pair (first one wins, like links); False if the note or comment had one."""
        now = _iso(self._clock())
        pair = Pair(
            incident=outcome.incident,
            issue=outcome.issue,
            note_id=outcome.note_id,
            comment_id=outcome.comment_id,
            recorded_at=now,
        )
        first = await self._pairs.create(note_key(outcome.incident, outcome.note_id), pair)
        second = await self._pairs.create(comment_key(outcome.incident, outcome.comment_id), pair)
        field = "last_comment_at" if isinstance(outcome, CommentAdded) else "last_note_at"
        await self._states.update(
            state_key(outcome.incident),
            lambda cur: msgspec.structs.replace(cur or LinkState(), **{field: now}),
        )
        return first and second

    async def lookup(self, query: PairLookup) -> PairReply:
        pair: Pair | None = None
        if query.note_id is not None:
            pair = await self._pairs.get(note_key(query.incident, query.note_id))
        elif query.comment_id is not None:
            pair = await self._pairs.get(comment_key(query.incident, query.comment_id))
        if pair is None:
            return PairReply(note_id=query.note_id, comment_id=query.comment_id)
        return PairReply(note_id=pair.note_id, comment_id=pair.comment_id)

    async def written(self, outcome: IssueTransitioned | IncidentUpdated) -> None:
        now = _iso(self._clock())
        if isinstance(outcome, IssueTransitioned):
            changes = {"jira_status": outcome.to_status, "jira_written_at": now}
        else:
            changes = {"pd_status": outcome.to_status, "pd_written_at": now}
        await self._states.update(
            state_key(outcome.incident),
            lambda cur: msgspec.structs.replace(cur or LinkState(), **changes),
        )

    async def state(self, incident: IncidentRef) -> LinkState | None:
        return await self._states.get(state_key(incident))

    async def pairs_of(self, incident: IncidentRef) -> list[Pair]:
        prefix = note_key(incident, "x").rsplit(".", 1)[0] + ".>"
        found = [await self._pairs.get(key) for key in await self._pairs.keys(prefix)]
        return sorted((p for p in found if p is not None), key=lambda p: p.recorded_at)

    async def forget(self, incident: IncidentRef) -> None:
        """Drop the pairs and state of an unlinked incident."""
        for pair in await self.pairs_of(incident):
            await self._pairs.delete(note_key(incident, pair.note_id))
            await self._pairs.delete(comment_key(incident, pair.comment_id))
        await self._states.delete(state_key(incident))
