"""pdjira ingest: the HTTP surface facing PagerDuty and Jira webhooks.

Verifies signatures, normalizes to our event contracts and stores them in JetStream
(stream EVENTS) before answering 2xx, so a vendor retry never loses or duplicates an event.
"""

__all__: list[str] = []
