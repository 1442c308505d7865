"""Jira Server/DC REST v2 over httpx: one client per configured instance, behind a protocol."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import httpx
from pdjira_common.config import Config, JiraInstance
from pdjira_writer.token_check import get_with_token
from pdjira_writer.vendor_http import HttpOptions, VendorHttp

from pdjira_jira_writer.errors import ANSWERS, JiraError
from pdjira_jira_writer.models import (
    Author,
    ChangedIssuePage,
    Comment,
    CommentPage,
    CreatedIssue,
    FieldMeta,
    FieldMetaPage,
    IssueHistory,
    IssueSnapshot,
    IssueValues,
    Named,
    Project,
    SearchResults,
    Transition,
    TransitionList,
    User,
)

__all__ = ["HttpJiraClient", "JiraApi", "http_clients"]

# Only what the writer reads: smaller answers, and `labels` for the idempotency check.
_ISSUE_FIELDS = "status,labels"
_MAX_COMMENT_PAGES = 50


class JiraApi(Protocol):
    """What the writer needs from a Jira instance; raises Retryable or JiraError on failure."""

    instance: str

    async def create_issue(
        self, fields: Mapping[str, Any], properties: Sequence[Mapping[str, Any]]
    ) -> CreatedIssue: ...

    async def get_issue(self, id_or_key: str) -> IssueSnapshot: ...

    async def get_issue_history(self, id_or_key: str) -> IssueHistory: ...

    async def myself(self) -> str: ...

    async def get_issue_values(self, id_or_key: str, fields: Sequence[str]) -> IssueValues: ...

    async def update_issue(self, id_or_key: str, fields: Mapping[str, Any]) -> None: ...

    async def search(self, jql: str, *, max_results: int = 10) -> SearchResults: ...

    async def get_transitions(self, id_or_key: str) -> tuple[Transition, ...]: ...

    async def transition(
        self, id_or_key: str, transition_id: str, fields: Mapping[str, Any]
    ) -> None: ...

    async def add_comment(self, id_or_key: str, body: str) -> Comment: ...

    async def comments(self, id_or_key: str) -> tuple[Comment, ...]: ...

    async def statuses(self) -> tuple[Named, ...]: ...

    async def priorities(self) -> tuple[Named, ...]: ...

    async def projects(self) -> tuple[Project, ...]: ...

    async def issue_types(self) -> tuple[Named, ...]: ...

    async def resolutions(self) -> tuple[Named, ...]: ...

    async def fields(self) -> tuple[Named, ...]: ...

    async def create_meta(self, project: str, issue_type: str) -> tuple[FieldMeta, ...]: ...

    async def users(self, query: str) -> tuple[User, ...]: ...

    async def aclose(self) -> None: ...


def http_clients(config: Config, options: HttpOptions) -> dict[str, JiraApi]:
    """One client per configured Jira instance."""
    return {instance.id: HttpJiraClient(instance, options) for instance in config.jira_instances}


class HttpJiraClient:
    """``JiraApi`` over HTTP. Auth is basic or a personal access token (``Bearer``)."""

    def __init__(self, instance: JiraInstance, options: HttpOptions) -> None:
        self.instance = instance.id
        self._login = instance.auth.username if instance.auth.type == "basic" else None
        headers = {
            "Accept": "application/json",
            # Jira's XSRF check rejects REST writes without it (as every Jira client sends it).
            "X-Atlassian-Token": "no-check",
        }
        auth: httpx.Auth | None = None
        credentials = instance.auth
        if credentials.type == "token" and credentials.token is not None:
            headers["Authorization"] = f"Bearer {credentials.token.reveal()}"
        elif credentials.username is not None and credentials.password is not None:
            auth = httpx.BasicAuth(credentials.username, credentials.password.reveal())
        self.base_url = instance.base_url  # a person's own token is checked there (whoami)
        self.options = options
        self.http = VendorHttp(
            target=instance.id,
            base_url=instance.base_url,
            headers=headers,
            auth=auth,
            limit=instance.rate_limit,
            answers=ANSWERS,
            options=options,
        )

    async def create_issue(
        self, fields: Mapping[str, Any], properties: Sequence[Mapping[str, Any]]
    ) -> CreatedIssue:
        body: dict[str, Any] = {"fields": dict(fields)}
        if properties:
            body["properties"] = [dict(p) for p in properties]
        response = await self.http.call("POST", "/rest/api/2/issue", what="create issue", json=body)
        return self.http.decode(response, CreatedIssue, what="create issue")

    async def get_issue(self, id_or_key: str) -> IssueSnapshot:
        return await self.http.get(
            f"/rest/api/2/issue/{id_or_key}",
            IssueSnapshot,
            what=f"get issue {id_or_key}",
            params={"fields": _ISSUE_FIELDS},
        )

    async def get_issue_history(self, id_or_key: str) -> IssueHistory:
        return await self.http.get(
            f"/rest/api/2/issue/{id_or_key}",
            IssueHistory,
            what=f"get issue {id_or_key} with its changelog",
            params={"fields": "status,project,issuetype", "expand": "changelog"},
        )

    async def myself(self) -> str:
        """The login pdjira writes as (its changes are not a person's): the configured user,
        else (a personal access token) who Jira says the token belongs to, asked once."""
        if self._login is None:
            me = await self.http.get("/rest/api/2/myself", Author, what="get the current user")
            self._login = me.name
        return self._login

    async def get_issue_values(self, id_or_key: str, fields: Sequence[str]) -> IssueValues:
        return await self.http.get(
            f"/rest/api/2/issue/{id_or_key}",
            IssueValues,
            what=f"get issue {id_or_key}",
            params={"fields": ",".join(dict.fromkeys(fields))},
        )

    async def update_issue(self, id_or_key: str, fields: Mapping[str, Any]) -> None:
        await self.http.call(
            "PUT",
            f"/rest/api/2/issue/{id_or_key}",
            what=f"edit issue {id_or_key}",
            json={"fields": dict(fields)},
        )

    async def search(self, jql: str, *, max_results: int = 10) -> SearchResults:
        # POST: the JQL never has to fit in a URL, and nothing of it lands in access logs.
        body = {"jql": jql, "maxResults": max_results, "fields": _ISSUE_FIELDS.split(",")}
        response = await self.http.call("POST", "/rest/api/2/search", what="search", json=body)
        return self.http.decode(response, SearchResults, what="search")

    async def get_transitions(self, id_or_key: str) -> tuple[Transition, ...]:
        path = f"/rest/api/2/issue/{id_or_key}/transitions"
        # With each transition's screen fields: required ones decide whether it is usable.
        params = {"expand": "transitions.fields"}
        what = f"list transitions of {id_or_key}"
        return (await self.http.get(path, TransitionList, what=what, params=params)).transitions

    async def transition(
        self, id_or_key: str, transition_id: str, fields: Mapping[str, Any]
    ) -> None:
        body: dict[str, Any] = {"transition": {"id": transition_id}}
        if fields:
            body["fields"] = dict(fields)
        await self.http.call(
            "POST",
            f"/rest/api/2/issue/{id_or_key}/transitions",
            what=f"transition {id_or_key}",
            json=body,
        )

    async def add_comment(self, id_or_key: str, body: str) -> Comment:
        what = f"comment on {id_or_key}"
        response = await self.http.call(
            "POST", f"/rest/api/2/issue/{id_or_key}/comment", what=what, json={"body": body}
        )
        return self.http.decode(response, Comment, what=what)

    async def comments(self, id_or_key: str) -> tuple[Comment, ...]:
        """The issue's comments, oldest first (pages of 100, at most ``_MAX_COMMENT_PAGES``)."""
        found: list[Comment] = []
        what = f"list comments of {id_or_key}"
        for _ in range(_MAX_COMMENT_PAGES):
            params = {"startAt": str(len(found)), "maxResults": "100"}
            listed = await self.http.get(
                f"/rest/api/2/issue/{id_or_key}/comment", CommentPage, what=what, params=params
            )
            found.extend(listed.comments)
            if not listed.comments or len(found) >= listed.total:
                break
        return tuple(found)

    async def statuses(self) -> tuple[Named, ...]:
        return await self.http.get("/rest/api/2/status", tuple[Named, ...], what="list statuses")

    async def priorities(self) -> tuple[Named, ...]:
        return await self.http.get(
            "/rest/api/2/priority", tuple[Named, ...], what="list priorities"
        )

    async def projects(self) -> tuple[Project, ...]:
        return await self.http.get("/rest/api/2/project", tuple[Project, ...], what="list projects")

    async def issue_types(self) -> tuple[Named, ...]:
        return await self.http.get(
            "/rest/api/2/issuetype", tuple[Named, ...], what="list issue types"
        )

    async def resolutions(self) -> tuple[Named, ...]:
        return await self.http.get(
            "/rest/api/2/resolution", tuple[Named, ...], what="list resolutions"
        )

    async def fields(self) -> tuple[Named, ...]:
        return await self.http.get("/rest/api/2/field", tuple[Named, ...], what="list fields")

    async def create_meta(self, project: str, issue_type: str) -> tuple[FieldMeta, ...]:
        page = await self.http.get(
            f"/rest/api/2/issue/createmeta/{project}/issuetypes/{issue_type}",
            FieldMetaPage,
            what=f"create metadata of {project}/{issue_type}",
            params={"maxResults": "1000"},
        )
        return page.values

    async def users(self, query: str) -> tuple[User, ...]:
        return await self.http.get(
            "/rest/api/2/user/search",
            tuple[User, ...],
            what="search users",
            params={"username": query},
        )

    async def user_by_key(self, key: str) -> User | None:
        """``GET /user?key=``: the user whose immutable key is ``key`` (None: no such user)."""
        try:
            return await self.http.get(
                "/rest/api/2/user", User, what="get user by key", params={"key": key}
            )
        except JiraError as exc:
            if exc.status_code == 404:
                return None
            raise

    async def user_of_token(self, token: str) -> tuple[int, User | None]:
        """``GET /myself`` with ``Bearer <token>`` (a person's PAT, used once): the status and,
        on 200, the user it belongs to."""
        response = await get_with_token(
            self.base_url,
            "/rest/api/2/myself",
            {"Accept": "application/json", "Authorization": f"Bearer {token}"},
            self.options,
            what="read the token's user",
            target=self.http.label,
        )
        if response.status_code != httpx.codes.OK:
            return response.status_code, None
        return response.status_code, self.http.decode(response, User, what="read the token's user")

    async def aclose(self) -> None:
        await self.http.aclose()

    # ------------------------------------------------------------ reconciliation reads

    async def changed_issues(
        self, jql: str, *, start_at: int, max_results: int
    ) -> ChangedIssuePage:
        """One page of a search with every field and the changelog (what the poller rebuilds
        missed webhooks from)."""
        body = {
            "jql": jql,
            "startAt": start_at,
            "maxResults": max_results,
            "fields": ["*all"],
            "expand": ["changelog"],
        }
        what = "search changed issues"
        response = await self.http.call("POST", "/rest/api/2/search", what=what, json=body)
        return self.http.decode(response, ChangedIssuePage, what=what)

    async def acting_user(self) -> User:
        """The user this client acts as (its changes are pdjira's own writes)."""
        return await self.http.get("/rest/api/2/myself", User, what="read the acting user")

    # ------------------------------------------------------------ webhook registrations
    # (ingest's webhook check, through pdjira_jira_writer.webhooks; raw JSON in and out)

    async def webhook_call(self, method: str, path: str, what: str, body: Any = None) -> Any:
        """``method path`` of a registration API; its JSON answer (None when it has none)."""
        response = await self.http.call(method, path, what=what, json=body)
        if not response.content:
            return None
        return self.http.decode(response, Any, what=what)

    # ------------------------------------------------------------ health (pdjira doctor)

    async def server_info(self) -> dict[str, Any]:
        return await self.http.get(
            "/rest/api/2/serverInfo", dict[str, Any], what="read the server info"
        )

    async def myself_with_groups(self) -> dict[str, Any]:
        return await self.http.get(
            "/rest/api/2/myself",
            dict[str, Any],
            what="read the acting user",
            params={"expand": "groups"},
        )

    async def my_permissions(self, project: str) -> dict[str, Any]:
        return await self.http.get(
            "/rest/api/2/mypermissions",
            dict[str, Any],
            what=f"read the permissions in project {project}",
            params={"projectKey": project},
        )

    async def project(self, project: str) -> dict[str, Any]:
        return await self.http.get(
            f"/rest/api/2/project/{project}", dict[str, Any], what=f"read project {project}"
        )

    async def project_role_ids(self, project: str) -> dict[str, Any]:
        return await self.http.get(
            f"/rest/api/2/project/{project}/role",
            dict[str, Any],
            what=f"list the roles of project {project}",
        )

    async def project_role(self, project: str, role_id: str) -> dict[str, Any]:
        return await self.http.get(
            f"/rest/api/2/project/{project}/role/{role_id}",
            dict[str, Any],
            what=f"read role {role_id} of project {project}",
        )

    async def service_desks(self) -> list[dict[str, Any]]:
        """Every service desk (Jira Service Management), all pages."""
        return await self._sd_pages("/rest/servicedeskapi/servicedesk", "list service desks")

    async def request_types(self, desk_id: str) -> list[dict[str, Any]]:
        return await self._sd_pages(
            f"/rest/servicedeskapi/servicedesk/{desk_id}/requesttype",
            f"list the request types of service desk {desk_id}",
        )

    async def _sd_pages(self, path: str, what: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for _ in range(_MAX_COMMENT_PAGES):
            page = await self.http.get(
                path, dict[str, Any], what=what, params={"start": str(len(found)), "limit": "50"}
            )
            values = page.get("values")
            values = values if isinstance(values, list) else []
            found.extend(v for v in values if isinstance(v, dict))
            if page.get("isLastPage", True) or not values:
                break
        return found
