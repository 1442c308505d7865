"""Webhook bodies shaped like the vendors' real ones (PagerDuty devdocs examples, real Jira
Server payloads as collected in shared/research), built fresh per test so tests can bend them."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

__all__ = [
    "hub_signature",
    "jira_comment_created",
    "jira_issue_created",
    "jira_issue_updated",
    "pd_annotated",
    "pd_envelope",
    "pd_incident",
    "pd_ping",
    "pd_signature",
    "to_body",
]

Json = dict[str, Any]


def to_body(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def _hex(secret: str, body: bytes) -> str:
    # Written out here rather than imported from ingest, so the tests check against the vendor
    # scheme (HMAC-SHA256 keyed with the secret's UTF-8 bytes, hex) and not against themselves.
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def pd_signature(body: bytes, *secrets: str) -> str:
    return ",".join(f"v1={_hex(s, body)}" for s in secrets)


def hub_signature(body: bytes, secret: str) -> str:
    return f"sha256={_hex(secret, body)}"


def _ref(kind: str, id_: str, summary: str, path: str) -> Json:
    return {
        "html_url": f"https://acme.pagerduty.com/{path}/{id_}",
        "id": id_,
        "self": f"https://api.pagerduty.com/{path}/{id_}",
        "summary": summary,
        "type": kind,
    }


def pd_incident(
    *,
    incident_id: str = "PGR0VU2",
    status: str = "triggered",
    service_id: str = "PF9KMXH",
    title: str = "A little bump in the road",
    priority: str | None = "P1",
) -> Json:
    """``event.data`` of an incident event, as in the devdocs incident.priority_updated example."""
    return {
        "id": incident_id,
        "type": "incident",
        "self": f"https://api.pagerduty.com/incidents/{incident_id}",
        "html_url": f"https://acme.pagerduty.com/incidents/{incident_id}",
        "number": 2,
        "status": status,
        "incident_key": "d3640fbd41094207a1c11e58e46b1662",
        "created_at": "2020-04-09T15:16:27Z",
        "title": title,
        "service": _ref("service_reference", service_id, "API Service", "services"),
        "assignees": [_ref("user_reference", "PTUXL6G", "User 123", "users")],
        "escalation_policy": _ref(
            "escalation_policy_reference", "PUS0KTE", "Default", "escalation_policies"
        ),
        "teams": [_ref("team_reference", "PFCVPS0", "Engineering", "teams")],
        "priority": (
            _ref("priority_reference", "PSO75BM", priority, "priorities") if priority else None
        ),
        "urgency": "high",
        "conference_bridge": {
            "conference_number": "+1 1234123412,,987654321#",
            "conference_url": "https://example.com",
        },
        "resolve_reason": None,
        "incident_type": {"name": "major"},
    }


def pd_envelope(
    event_type: str,
    data: Json,
    *,
    event_id: str = "5ac64822-4adc-4fda-ade0-410becf0de4f",
    agent: Json | None = None,
    resource_type: str = "incident",
) -> Json:
    return {
        "event": {
            "id": event_id,
            "event_type": event_type,
            "resource_type": resource_type,
            "occurred_at": "2020-10-02T18:45:22.169Z",
            "agent": agent
            if agent is not None
            else _ref("user_reference", "PLH1HKV", "Tenex Engineer", "users"),
            "client": {"name": "PagerDuty"},
            "data": data,
        }
    }


def pd_annotated(*, incident_id: str = "PGR0VU2", note_id: str = "P2LA89X") -> Json:
    incident = _ref("incident_reference", incident_id, "A little bump in the road", "incidents")
    return pd_envelope(
        "incident.annotated",
        {
            "incident": incident,
            "id": note_id,
            "content": "I sure am glad we are using PagerDuty!",
            "trimmed": False,
            "type": "incident_note",
        },
        event_id="01DEN3RYDJJTYU8S2X4U1SF2XW",
    )


def pd_ping() -> Json:
    return {
        "event": {
            "id": "01BZ7E6MKZP8EZ1VX0J2SZM4AS",
            "event_type": "pagey.ping",
            "resource_type": "pagey",
            "occurred_at": "2021-12-08T22:13:11.511Z",
            "agent": None,
            "client": None,
            "data": {"message": "Hello from your friend Pagey!", "type": "ping"},
        }
    }


def _jira_user(name: str = "admin", key: str = "JIRAUSER10100") -> Json:
    return {
        "self": f"http://jira.example.com/rest/api/2/user?username={name}",
        "name": name,
        "key": key,
        "emailAddress": f"{name}@example.com",
        "avatarUrls": {"48x48": "http://jira.example.com/secure/useravatar?avatarId=10122"},
        "displayName": "Test User",
        "active": True,
        "timeZone": "Europe/Berlin",
    }


def _jira_issue(*, issue_id: str = "10100", key: str = "OPS-4", status: str = "Open") -> Json:
    categories = {
        "Open": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
        "In Progress": {
            "id": 4,
            "key": "indeterminate",
            "colorName": "yellow",
            "name": "In Progress",
        },
        "Done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
    }
    return {
        "id": issue_id,
        "self": f"http://jira.example.com/rest/api/2/issue/{issue_id}",
        "key": key,
        "fields": {
            "summary": "A little bump in the road",
            "issuetype": {"id": "10002", "name": "Task", "subtask": False},
            "project": {"id": "10000", "key": "OPS", "name": "Operations"},
            "status": {
                "self": "http://jira.example.com/rest/api/2/status/1",
                "id": "1",
                "name": status,
                "statusCategory": categories[status],
            },
            "priority": {"id": "3", "name": "Major"},
            "labels": ["pagerduty"],
            "resolution": None,
            "assignee": None,
            "description": "PagerDuty incident #2",
            "updated": "2019-08-14T04:02:33.674+0200",
        },
    }


def jira_issue_created(**issue: Any) -> Json:
    return {
        "timestamp": 1565751753680,
        "webhookEvent": "jira:issue_created",
        "issue_event_type_name": "issue_created",
        "user": _jira_user(),
        "issue": _jira_issue(**issue),
    }


def jira_issue_updated(
    items: list[Json] | None = None,
    *,
    event_type_name: str = "issue_work_started",
    status: str = "In Progress",
    comment: Json | None = None,
    timestamp: int = 1565751753681,
) -> Json:
    payload: Json = {
        "timestamp": timestamp,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": event_type_name,
        "user": _jira_user(),
        "issue": _jira_issue(status=status),
    }
    if items is not None:
        payload["changelog"] = {"id": "10508", "items": items}
    if comment is not None:
        payload["comment"] = comment
    return payload


def jira_comment_created() -> Json:
    """Standalone Server comment event: no `issue`, only the comment."""
    return {
        "timestamp": 1565751753690,
        "webhookEvent": "comment_created",
        "comment": {
            "self": "http://jira.example.com/rest/api/2/issue/10100/comment/10082",
            "id": "10082",
            "author": _jira_user(),
            "body": "looking into it",
            "created": "2019-08-14T04:02:33.674+0200",
            "updated": "2019-08-14T04:02:33.674+0200",
        },
    }
