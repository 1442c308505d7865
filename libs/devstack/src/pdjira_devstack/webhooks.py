"""Signed PagerDuty v3 webhook deliveries, as the simulator (and PagerDuty) sends them: for the
benchmarks and the end-to-end tests that post straight to ingest."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

__all__ = ["signed_pagerduty_webhook"]


def signed_pagerduty_webhook(
    secret: str,
    incident_id: str,
    *,
    event_id: str | None = None,
    event_type: str = "incident.triggered",
    service_id: str = "PSVC001",
    title: str = "Replayed webhook",
    number: int = 4242,
) -> tuple[bytes, dict[str, str]]:
    """One delivery about ``incident_id`` signed with ``secret``: (body, headers)."""
    body = json.dumps(
        {
            "event": {
                "id": event_id or str(uuid.uuid4()),
                "event_type": event_type,
                "resource_type": "incident",
                "occurred_at": "2026-11-26T10:00:00.000Z",
                "agent": {"id": "PUSER01", "type": "user_reference", "summary": "Pat Oncall"},
                "client": {"name": "PagerDuty"},
                "data": {
                    "id": incident_id,
                    "type": "incident",
                    "self": f"https://api.pagerduty.com/incidents/{incident_id}",
                    "html_url": f"https://acme.pagerduty.com/incidents/{incident_id}",
                    "number": number,
                    "status": "triggered",
                    "incident_key": uuid.uuid4().hex,
                    "created_at": "2026-11-26T10:00:00Z",
                    "title": title,
                    "service": {
                        "id": service_id,
                        "type": "service_reference",
                        "summary": "Checkout API",
                    },
                    "assignees": [],
                    "escalation_policy": {"id": "PEP0001", "type": "escalation_policy_reference"},
                    "teams": [],
                    "priority": None,
                    "urgency": "high",
                    "conference_bridge": None,
                    "resolve_reason": None,
                },
            }
        }
    ).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "PagerDuty-Webhook/V3.0",
        "X-Webhook-Id": str(uuid.uuid4()),
        "X-PagerDuty-Signature": f"v1={signature}",
    }
    return body, headers
