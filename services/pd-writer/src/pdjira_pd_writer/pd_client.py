"""PagerDuty REST v2 over httpx: one client per configured account, behind a protocol."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

import httpx
from pdjira_common.config import Config, PagerDutyAccount
from pdjira_writer.token_check import get_with_token
from pdjira_writer.vendor_http import HttpOptions, VendorHttp

from pdjira_pd_writer.errors import ANSWERS, PagerDutyError
from pdjira_pd_writer.models import (
    IncidentBody,
    IncidentList,
    IncidentNote,
    IncidentNoteList,
    IncidentSnapshot,
    IncidentStatus,
    LogEntry,
    LogEntryList,
    Note,
    NoteBody,
    NoteList,
    Priority,
    PriorityList,
    RawIncidentBody,
    Service,
    ServiceList,
    User,
    UserBody,
    UserList,
)

__all__ = ["HttpPagerDutyClient", "PagerDutyApi", "http_clients"]

ACCEPT = "application/vnd.pagerduty+json;version=2"
Page = TypeVar("Page", PriorityList, ServiceList)
_PAGE = 100  # PagerDuty's largest page (classic pagination)
_MAX_PAGES = 100  # offset + limit stays within PagerDuty's 10000
# No priorities on the account's plan: 404 (the feature is off) or 402 (no such ability).
_NO_PRIORITIES = (402, 404)
_RECENT_LOG_ENTRIES = 25


class PagerDutyApi(Protocol):
    """What the writer needs from a PagerDuty account; raises Retryable or PagerDutyError.

    Writes take ``from_email``: the user PagerDuty records as having acted."""

    account: str
    from_email: str

    async def get_incident(self, incident_id: str) -> IncidentSnapshot: ...

    async def update_incident_status(
        self, incident_id: str, status: IncidentStatus, *, from_email: str
    ) -> IncidentSnapshot: ...

    async def update_incident_fields(
        self,
        incident_id: str,
        *,
        priority_id: str | None,
        urgency: str | None,
        from_email: str,
    ) -> IncidentSnapshot: ...

    async def request_responders(
        self, incident_id: str, *, requester_id: str, user_ids: tuple[str, ...], message: str
    ) -> None: ...

    async def add_note(self, incident_id: str, content: str, *, from_email: str) -> Note: ...

    async def notes(self, incident_id: str) -> tuple[Note, ...]: ...

    async def recent_log_entries(self, incident_id: str) -> tuple[LogEntry, ...]: ...

    async def incidents_by_key(self, incident_key: str) -> tuple[IncidentSnapshot, ...]: ...

    async def create_incident(
        self,
        *,
        service_id: str,
        title: str,
        details: str,
        incident_key: str,
        urgency: str | None,
        from_email: str,
        priority_id: str | None = None,
    ) -> IncidentSnapshot: ...

    async def get_user(self, user_id: str) -> User: ...

    async def users_by_email(self, email: str) -> tuple[User, ...]: ...

    async def priorities(self) -> tuple[Priority, ...]: ...

    async def services(self) -> tuple[Service, ...]: ...

    async def aclose(self) -> None: ...


def http_clients(config: Config, options: HttpOptions) -> dict[str, PagerDutyApi]:
    """One client per configured PagerDuty account (its API token)."""
    return {
        account.id: HttpPagerDutyClient(account, options) for account in config.pagerduty_accounts
    }


class HttpPagerDutyClient:
    """``PagerDutyApi`` over HTTP with the account's API token."""

    def __init__(self, account: PagerDutyAccount, options: HttpOptions) -> None:
        self.account = account.id
        self.from_email = account.from_email
        self.base_url = account.api_url.rstrip("/")  # a person's own key is checked there
        self.options = options
        # One pacer per token: commands and reads for others share PagerDuty's budget.
        self.http = VendorHttp(
            target=account.id,
            base_url=account.api_url.rstrip("/"),
            headers={"Accept": ACCEPT, "Authorization": f"Token token={account.token.reveal()}"},
            limit=account.rate_limit,
            answers=ANSWERS,
            options=options,
        )

    async def get_incident(self, incident_id: str) -> IncidentSnapshot:
        what = f"get incident {incident_id}"
        return (await self.http.get(f"/incidents/{incident_id}", IncidentBody, what=what)).incident

    async def update_incident_status(
        self, incident_id: str, status: IncidentStatus, *, from_email: str
    ) -> IncidentSnapshot:
        what = f"set incident {incident_id} to {status}"
        response = await self.http.call(
            "PUT",
            f"/incidents/{incident_id}",
            what=what,
            json={"incident": {"type": "incident_reference", "status": status}},
            # Required on incident writes: the user PagerDuty records as having acted.
            headers={"From": from_email},
        )
        return self.http.decode(response, IncidentBody, what=what).incident

    async def update_incident_fields(
        self,
        incident_id: str,
        *,
        priority_id: str | None,
        urgency: str | None,
        from_email: str,
    ) -> IncidentSnapshot:
        incident: dict[str, Any] = {"type": "incident_reference"}
        if priority_id is not None:
            incident["priority"] = {"id": priority_id, "type": "priority_reference"}
        if urgency is not None:
            incident["urgency"] = urgency
        what = f"set {', '.join(k for k in incident if k != 'type')} of incident {incident_id}"
        response = await self.http.call(
            "PUT",
            f"/incidents/{incident_id}",
            what=what,
            json={"incident": incident},
            headers={"From": from_email},
        )
        return self.http.decode(response, IncidentBody, what=what).incident

    async def request_responders(
        self, incident_id: str, *, requester_id: str, user_ids: tuple[str, ...], message: str
    ) -> None:
        # No `From` here: the requester is named in the body (the spec lists no From header).
        await self.http.call(
            "POST",
            f"/incidents/{incident_id}/responder_requests",
            what=f"request responders for incident {incident_id}",
            json={
                "requester_id": requester_id,
                "message": message,
                "responder_request_targets": [
                    {"responder_request_target": {"id": uid, "type": "user_reference"}}
                    for uid in user_ids
                ],
            },
        )

    async def add_note(self, incident_id: str, content: str, *, from_email: str) -> Note:
        what = f"add a note to incident {incident_id}"
        response = await self.http.call(
            "POST",
            f"/incidents/{incident_id}/notes",
            what=what,
            json={"note": {"content": content}},
            headers={"From": from_email},
        )
        return self.http.decode(response, NoteBody, what=what).note

    async def notes(self, incident_id: str) -> tuple[Note, ...]:
        """The incident's notes, oldest first (PagerDuty lists them all, unpaginated)."""
        what = f"list the notes of incident {incident_id}"
        path = f"/incidents/{incident_id}/notes"
        return (await self.http.get(path, NoteList, what=what)).notes

    async def recent_log_entries(self, incident_id: str) -> tuple[LogEntry, ...]:
        """The incident's newest log entries, newest first (one page is enough to see what
        happened around a write just made)."""
        what = f"list log entries of incident {incident_id}"
        path = f"/incidents/{incident_id}/log_entries"
        params = {"limit": str(_RECENT_LOG_ENTRIES), "is_overview": "true"}
        return (await self.http.get(path, LogEntryList, what=what, params=params)).log_entries

    async def incidents_by_key(self, incident_key: str) -> tuple[IncidentSnapshot, ...]:
        what = f"find incidents with incident_key {incident_key}"
        # Every status, over PagerDuty's widest window: an old resolved one is still ours.
        params = {"incident_key": incident_key, "date_range": "all", "limit": "100"}
        found = await self.http.get("/incidents", IncidentList, what=what, params=params)
        return found.incidents

    async def create_incident(
        self,
        *,
        service_id: str,
        title: str,
        details: str,
        incident_key: str,
        urgency: str | None,
        from_email: str,
        priority_id: str | None = None,
    ) -> IncidentSnapshot:
        what = f"create an incident with incident_key {incident_key}"
        incident: dict[str, Any] = {
            "type": "incident",
            "title": title,
            "service": {"id": service_id, "type": "service_reference"},
            "incident_key": incident_key,
            "body": {"type": "incident_body", "details": details},
        }
        if urgency:
            incident["urgency"] = urgency
        if priority_id:
            incident["priority"] = {"id": priority_id, "type": "priority_reference"}
        response = await self.http.call(
            "POST",
            "/incidents",
            what=what,
            json={"incident": incident},
            headers={"From": from_email},
        )
        return self.http.decode(response, IncidentBody, what=what).incident

    async def get_user(self, user_id: str) -> User:
        return (await self.http.get(f"/users/{user_id}", UserBody, what=f"get user {user_id}")).user

    async def user_of_token(self, token: str) -> tuple[int, User | None, str]:
        """``GET /users/me`` with a person's user-level API key (used once): the status, the
        user on 200, else PagerDuty's error message."""
        response = await get_with_token(
            self.base_url,
            "/users/me",
            {"Accept": ACCEPT, "Authorization": f"Token token={token}"},
            self.options,
            what="read the key's user",
            target=self.http.label,
        )
        if response.status_code != httpx.codes.OK:
            return response.status_code, None, ANSWERS.words(response.content)[0]
        body = self.http.decode(response, UserBody, what="read the key's user")
        return response.status_code, body.user, ""

    async def users_by_email(self, email: str) -> tuple[User, ...]:
        params = {"query": email, "limit": "100"}
        found = (await self.http.get("/users", UserList, what="search users", params=params)).users
        return tuple(u for u in found if (u.email or "").casefold() == email.casefold())

    async def priorities(self) -> tuple[Priority, ...]:
        """Every priority, most severe first; none when the account has no priorities."""
        try:
            pages = await self._pages("/priorities", PriorityList, what="list priorities")
        except PagerDutyError as exc:
            if exc.status_code in _NO_PRIORITIES:
                return ()
            raise
        return tuple(p for page in pages for p in page.priorities)

    async def services(self) -> tuple[Service, ...]:
        pages = await self._pages("/services", ServiceList, what="list services")
        return tuple(s for page in pages for s in page.services)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _pages(self, path: str, type_: type[Page], *, what: str) -> list[Page]:
        """Every page of a classic-paginated list (``limit``/``offset`` until ``more`` ends)."""
        pages: list[Page] = []
        for number in range(_MAX_PAGES):
            params = {"limit": str(_PAGE), "offset": str(number * _PAGE)}
            page = await self.http.get(path, type_, what=what, params=params)
            pages.append(page)
            if not page.more:
                break
        return pages

    # ------------------------------------------------------------ reconciliation reads

    async def log_entries_between(self, since: str, until: str) -> tuple[LogEntry, ...]:
        """The account's log entries in [since, until), every page (newest first)."""
        found: list[LogEntry] = []
        for number in range(_MAX_PAGES):
            params = {
                "since": since,
                "until": until,
                "limit": str(_PAGE),
                "offset": str(number * _PAGE),
            }
            page = await self.http.get(
                "/log_entries", LogEntryList, what="list log entries", params=params
            )
            found.extend(page.log_entries)
            if not page.more:
                break
        return tuple(found)

    async def incident_json(self, incident_id: str) -> dict[str, Any]:
        """The incident as ``GET /incidents/{id}`` answers it, whole."""
        what = f"get incident {incident_id}"
        return (
            await self.http.get(f"/incidents/{incident_id}", RawIncidentBody, what=what)
        ).incident

    async def incident_notes(self, incident_id: str) -> tuple[IncidentNote, ...]:
        what = f"list notes of incident {incident_id}"
        path = f"/incidents/{incident_id}/notes"
        return (await self.http.get(path, IncidentNoteList, what=what)).notes

    # ------------------------------------------------------------ webhook subscriptions
    # (ingest's webhook check, through pdjira_pd_writer.webhooks; raw JSON in and out)

    async def webhook_subscriptions(self) -> list[dict[str, Any]]:
        """Every v3 webhook subscription of the account (classic pagination)."""
        found: list[dict[str, Any]] = []
        for number in range(_MAX_PAGES):
            params = {"limit": str(_PAGE), "offset": str(number * _PAGE)}
            page = await self.http.get(
                "/webhook_subscriptions",
                dict[str, Any],
                what="list webhook subscriptions",
                params=params,
            )
            found.extend(page.get("webhook_subscriptions") or [])
            if not page.get("more"):
                break
        return found

    async def webhook_subscription_call(
        self, method: str, path: str, what: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """``method /webhook_subscriptions<path>``; its JSON answer ({} when it has none)."""
        response = await self.http.call(
            method, f"/webhook_subscriptions{path}", what=what, json=body
        )
        if not response.content:
            return {}
        return self.http.decode(response, dict[str, Any], what=what)

    # ------------------------------------------------------------ health (pdjira doctor)

    async def users_matching(self, email: str) -> list[dict[str, Any]]:
        """The users whose e-mail is ``email`` (with their role), from ``GET /users?query=``."""
        params = {"query": email, "limit": "100"}
        page = await self.http.get("/users", dict[str, Any], what="search users", params=params)
        users = page.get("users")
        return [
            u
            for u in (users if isinstance(users, list) else [])
            if isinstance(u, dict) and str(u.get("email") or "").casefold() == email.casefold()
        ]
