"""NATS header names every publisher and consumer agrees on."""

from __future__ import annotations

__all__ = [
    "CORRELATION_HEADER",
    "EVENT_STORED_AT_HEADER",
    "MSG_ID_HEADER",
    "REPLAY_MSG_ID_PREFIX",
]

MSG_ID_HEADER = "Nats-Msg-Id"  # JetStream drops a second message with the same id (dedup window)
CORRELATION_HEADER = "Pdjira-Correlation-Id"  # the source event id: one id finds the whole trace
# The Nats-Msg-Id of a message `pdjira dlq replay` sends back: a new message, the same command.
REPLAY_MSG_ID_PREFIX = "replay:"

# When the source event of a command was stored in EVENTS (Unix seconds, e.g. "1764150000.125"):
# rules copies it from the event onto each command it sends; a writer measures the end-to-end
# sync latency from it when the command's write is done. Optional: absent from older publishers.
EVENT_STORED_AT_HEADER = "Pdjira-Event-Stored-At"
