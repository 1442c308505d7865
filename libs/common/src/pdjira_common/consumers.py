"""Durable consumers: bring an existing consumer's editable settings to what the code says.

nats-py (and so FastStream) only *creates* a durable consumer with the given config; when it
already exists the config is silently ignored. A service calls :func:`update_consumer` after
start so that, e.g., a changed ``ack_wait`` takes effect without deleting the consumer.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from nats.js import JetStreamContext

__all__ = ["update_consumer"]


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
