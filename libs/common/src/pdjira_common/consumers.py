"""Durable consumers: bring an existing consumer's editable settings to what the code says, and
the delivery bounds every consumer keeps (``max_deliver`` and the poison threshold).

nats-py (and so FastStream) only *creates* a durable consumer with the given config; when it
already exists the config is silently ignored. A service calls :func:`update_consumer` after
start so that, e.g., a changed ``ack_wait`` or ``max_deliver`` takes effect without deleting the
consumer.

Poison messages. A message whose handler *raises* is retried and dead-lettered by the one retry
policy (``retry.after_failure``). A message that kills the process (a crash, a hang until the
service is restarted) never gets that far: it comes back after every restart, and with no
``max_deliver`` it did so for ever. So every consumer checks a delivery's ``num_delivered``
before running it: past the *poison threshold* the message goes to the DLQ with the reason
(:func:`poison_reason`) and is acked, without running the handler. ``max_deliver`` is the
server's backstop above the threshold (a message that reaches it is never delivered again, and
would sit unacked: the threshold is below it so that we dead-letter first).

- Lanes (``lanes``: retries in place, so a failure does not count a delivery): a message is
  delivered again only when the service stopped or died while holding it. A graceful restart
  hands back every message held (queued behind its entity or waiting to retry), so a message
  waiting for its prerequisite through a few deploys has a few deliveries; ten restarts while
  one message is held is far beyond a rollout, while ten crashes in a row on one message is a
  crash loop. Threshold :data:`LANE_POISON_DELIVERIES` = 10, ``max_deliver``
  :data:`LANE_MAX_DELIVER` = 20.
- FastStream subscribers (``bus``: a retry is a delayed nak, so every failed attempt and every
  prerequisite wait is a delivery): the threshold sits above the most deliveries the retry
  policy itself takes (``max_attempts``, ``prerequisite_max_attempts``) plus the same ten
  restarts (:func:`subscriber_poison_deliveries`); ``max_deliver`` ten above it.

Limit: the server's count cannot tell the message that killed the process from the ones it
merely held at the time. Messages held across the same crashes (fetched with the poison, or
queued behind it in its lane) count those deliveries too, and may be dead-lettered with it; the
reason says so, and ``pdjira dlq replay`` sends them back once the poison is gone.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from nats.js import JetStreamContext

from pdjira_common.config import RetrySettings

__all__ = [
    "LANE_MAX_DELIVER",
    "LANE_POISON_DELIVERIES",
    "RESTARTS_TOLERATED",
    "poison_reason",
    "subscriber_max_deliver",
    "subscriber_poison_deliveries",
    "update_consumer",
]

RESTARTS_TOLERATED = 10  # deliveries that never finished before a message counts as poison
LANE_POISON_DELIVERIES = RESTARTS_TOLERATED
LANE_MAX_DELIVER = 2 * RESTARTS_TOLERATED


def subscriber_poison_deliveries(retry: RetrySettings) -> int:
    """Deliveries a FastStream subscriber's message may have had before it counts as poison."""
    return max(retry.max_attempts, retry.prerequisite_max_attempts) + RESTARTS_TOLERATED


def subscriber_max_deliver(retry: RetrySettings) -> int:
    """``max_deliver`` of a FastStream subscriber's durable: the server's backstop."""
    return subscriber_poison_deliveries(retry) + RESTARTS_TOLERATED


def poison_reason(deliveries: int) -> str:
    """Why a message past the poison threshold is dead-lettered without running it."""
    return (
        f"delivered {deliveries} times without finishing: the handler crashed or hung on it "
        "each time (or it was held by a service that did; replay it once the cause is fixed)"
    )


async def update_consumer(js: JetStreamContext, stream: str, durable: str, **settings: Any) -> bool:
    """Set ``settings`` (ConsumerConfig fields) on the existing consumer; True if it changed."""
    info = await js.consumer_info(stream, durable)
    current = info.config
    if all(getattr(current, name) == value for name, value in settings.items()):
        return False
    # The server updates a consumer when it is "created" again under its name with a config
    # that differs only in editable fields.
    await js.add_consumer(stream, dataclasses.replace(current, **settings))
    return True
