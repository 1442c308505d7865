"""Jira webhook registrations, for ingest's webhook check: ``reads.jira.<instance>.webhooks``
answered through the instance's client (and so within its rate budget).

Jira has two registration APIs: ``/rest/webhooks/1.0/webhook`` (every Jira Server/DC; no
secret) and ``/rest/jira-webhook/1.0/webhooks`` (Jira DC 10+, which signs with a secret). On
DC 10+ both list the same webhooks; a list asks both and keeps one copy per id (the newer
API's), a create uses the newer API when the instance has it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from faststream.nats import NatsBroker
from pdjira_common.webhook_admin import (
    JIRA_API_V1,
    JIRA_API_V10,
    JiraApiName,
    JiraWebhook,
    JiraWebhookReply,
    JiraWebhookRequest,
)
from pdjira_writer.errors import Refused
from pdjira_writer.reads import read_from, serve_read

from pdjira_jira_writer.handlers import CONSUMER
from pdjira_jira_writer.jira_client import JiraApi
from pdjira_jira_writer.spec import SPEC

__all__ = ["JiraWebhookApi", "answer", "read_webhook", "register_webhook_admin", "webhook_body"]

_PATHS: dict[JiraApiName, str] = {"v1": JIRA_API_V1, "v10": JIRA_API_V10}
_FILTER = "issue-related-events-section"
_ABSENT = (404, 405)  # the instance has no such API (Jira <= 9 has no v10)


@runtime_checkable
class JiraWebhookApi(Protocol):
    async def webhook_call(self, method: str, path: str, what: str, body: Any = None) -> Any: ...


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def read_webhook(raw: Mapping[str, Any], api: JiraApiName) -> JiraWebhook:
    """A webhook of either API's JSON; v1 has no id field, its ``self`` URL ends with it."""
    ident = raw.get("id")
    if ident is None:
        ident = _text(raw.get("self")).rstrip("/").rsplit("/", 1)[-1]
    filters = raw.get("filters")
    jql = filters.get(_FILTER) if isinstance(filters, dict) else None
    jql = jql or raw.get("jqlFilter")
    events = raw.get("events")
    enabled = raw.get("active", raw.get("enabled", True))
    return JiraWebhook(
        id=str(ident),
        api=api,
        name=_text(raw.get("name")),
        url=_text(raw.get("url")),
        events=tuple(e for e in events if isinstance(e, str)) if isinstance(events, list) else (),
        jql=jql if isinstance(jql, str) and jql else None,
        enabled=enabled is not False,
        exclude_body=raw.get("excludeBody") is True,
    )


def webhook_body(hook: JiraWebhook, secret: str | None) -> dict[str, Any]:
    """The body both APIs take (v1 reads ``enabled``, v10 ``active``)."""
    body: dict[str, Any] = {
        "name": hook.name,
        "url": hook.url,
        "events": list(hook.events),
        "filters": {_FILTER: hook.jql or ""},
        "excludeBody": hook.exclude_body,
        "enabled": hook.enabled,
        "active": hook.enabled,
    }
    if secret:
        body["secret"] = secret
    return body


async def _list(client: JiraWebhookApi) -> JiraWebhookReply:
    found: dict[str, JiraWebhook] = {}
    apis: list[JiraApiName] = []
    errors: list[str] = []
    for api in ("v10", "v1"):
        try:
            raw = await client.webhook_call("GET", _PATHS[api], f"list webhooks ({api} API)")
        except Refused as exc:
            if exc.status_code not in _ABSENT:
                errors.append(exc.reason)
            continue
        apis.append(api)
        for item in raw if isinstance(raw, list) else []:
            if isinstance(item, dict):
                hook = read_webhook(item, api)
                found.setdefault(hook.id, hook)  # v10 first: its copy wins
    if not apis:
        return JiraWebhookReply(error="; ".join(errors) or "no webhook registration API answered")
    return JiraWebhookReply(webhooks=tuple(found.values()), apis=tuple(apis))


async def answer(client: JiraApi, request: JiraWebhookRequest) -> JiraWebhookReply:
    if not isinstance(client, JiraWebhookApi):
        raise TypeError("this Jira client cannot manage webhooks")
    if request.op == "list":
        return await _list(client)
    if request.op == "create":
        if request.webhook is None:
            return JiraWebhookReply(error="create needs a webhook")
        api: JiraApiName = request.api or "v10"
        body = webhook_body(request.webhook, request.secret)
        raw = await client.webhook_call("POST", _PATHS[api], "register a webhook", body)
        created = read_webhook(raw, api) if isinstance(raw, dict) else request.webhook
        return JiraWebhookReply(webhooks=(created,))
    if not request.webhook_id or request.api is None:
        return JiraWebhookReply(error=f"{request.op} needs webhook_id and api")
    path = f"{_PATHS[request.api]}/{request.webhook_id}"
    what = f"{request.op} webhook {request.webhook_id}"
    if request.op == "delete":
        await client.webhook_call("DELETE", path, what)
        return JiraWebhookReply()
    if request.webhook is None:
        return JiraWebhookReply(error="update needs a webhook")
    raw = await client.webhook_call(
        "PUT", path, what, webhook_body(request.webhook, request.secret)
    )
    updated = read_webhook(raw, request.api) if isinstance(raw, dict) else request.webhook
    return JiraWebhookReply(webhooks=(updated,))


def register_webhook_admin(broker: NatsBroker, clients: Mapping[str, JiraApi]) -> None:
    """``reads.jira.<instance>.webhooks``, answered with the instance's client."""

    async def webhooks(request: JiraWebhookRequest) -> JiraWebhookReply:
        result = await read_from(
            clients, request.instance, SPEC, "webhooks", lambda jira: answer(jira, request)
        )
        return JiraWebhookReply(error=result) if isinstance(result, str) else result

    serve_read(broker, "reads.jira.*.webhooks", webhooks, queue=CONSUMER)
