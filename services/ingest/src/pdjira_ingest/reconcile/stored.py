"""What stream EVENTS already holds for one incident since a time: the webhooks that came,
so a PagerDuty status change the poller sees is published only when none stored it (a status
webhook has no id the log entry shares; see stable_ids)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import msgspec
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pdjira_common import streams, subjects
from pdjira_common.contracts import IncidentEvent, decode_event

from pdjira_ingest.stable_ids import status_key

__all__ = ["webhook_statuses"]

_BATCH = 256


async def webhook_statuses(js: JetStreamContext, subject: str, since: datetime) -> Counter[str]:
    """The status webhooks stored on ``subject`` (in its partition) since ``since``, by
    ``status_key``."""
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.BY_START_TIME,
        opt_start_time=since,
        ack_policy=AckPolicy.NONE,
        inactive_threshold=30.0,  # an ephemeral reader: the server drops it if we vanish
    )
    sub = await js.pull_subscribe(
        subjects.stored_filter(subject), stream=streams.EVENTS, config=config
    )
    found: Counter[str] = Counter()
    try:
        pending = (await sub.consumer_info()).num_pending or 0
        while pending > 0:
            messages = await sub.fetch(min(pending, _BATCH), timeout=5.0)
            for message in messages:
                try:
                    event = decode_event(message.data)
                except (msgspec.DecodeError, msgspec.ValidationError):
                    continue
                if isinstance(event, IncidentEvent) and event.origin == "webhook":
                    key = status_key(event.event_type, event.occurred_at)
                    if key is not None and not event.is_note:
                        found[key] += 1
            pending = (messages[-1].metadata.num_pending or 0) if messages else 0
    finally:
        await sub.unsubscribe()
    return found
