"""JetStream publish with PubAck for the webhook path: what nats-py's ``JetStreamContext.publish``
does (a request on the client's connection, the server's PubAck as its reply), for less per
message.

``JetStreamContext.publish`` is ``Client.request``: per message it draws random bytes from the
OS for the reply token (a system call), waits in ``asyncio.wait_for`` (a task and its callbacks)
and parses the ack with ``json``; at thousands of webhooks a second that is a good part of what
ingest spends on one. Here the reply subjects share one subscription (as nats-py's own requests
do), a token is a counter, and the timeout is one timer. The answers are nats-py's: the same
:class:`~nats.js.api.PubAck`, and the same errors (``nats.errors.TimeoutError``,
``NoStreamResponseError`` when no stream takes the subject, ``APIError`` for the server's
refusals, and the client's own for a closed or draining connection). The ack is read by
msgspec rather than json (json's answer stays the answer to what msgspec cannot read).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import Header, PubAck
from nats.js.errors import APIError, NoStreamResponseError

__all__ = ["AckedPublisher"]

NO_RESPONDERS_STATUS = "503"  # the Status header of "no one listens on that subject"
# An ack with only these fields is PubAck(**ack): what PubAck.from_response makes of it (it
# renames batch fields and drops unknown ones, which a plain ack does not have), for less.
_PLAIN_ACK = frozenset({"stream", "seq", "domain", "duplicate"})


def _response(data: bytes) -> Any:
    """The reply's JSON, read by msgspec; json's answer (or error) for what msgspec refuses."""
    try:
        return msgspec.json.decode(data)
    except msgspec.DecodeError:
        return json.loads(data)


def _expire(future: asyncio.Future[Msg]) -> None:
    if not future.done():
        future.set_exception(NatsTimeoutError())


class AckedPublisher:
    """Publishes to JetStream on one nats-py client and waits for each message's PubAck.

    :meth:`start` once the client is connected (it subscribes to the reply subjects; nats-py
    renews the subscription after a reconnect)."""

    def __init__(self) -> None:
        self._client: Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._prefix = ""
        self._waiting: dict[str, asyncio.Future[Msg]] = {}
        self._tokens = itertools.count()

    async def start(self, client: Client) -> None:
        prefix = client.new_inbox() + "."
        await client.subscribe(prefix + "*", cb=self._on_reply)
        # The client's loop, the one every publish runs in. Not asked for per message: on
        # Python 3.11, asyncio.get_running_loop() makes a getpid() system call each time.
        self._loop = asyncio.get_running_loop()
        self._client, self._prefix = client, prefix

    async def _on_reply(self, msg: Msg) -> None:
        future = self._waiting.get(msg.subject[len(self._prefix) :])
        if future is not None and not future.done():
            future.set_result(msg)

    async def publish(
        self,
        subject: str,
        payload: bytes,
        *,
        stream: str,
        headers: dict[str, str],
        timeout: float,
    ) -> PubAck:
        """Store ``payload`` in ``stream`` (the server refuses it if ``subject`` is another
        stream's) and return the PubAck; raises as ``JetStreamContext.publish`` does."""
        client, loop = self._client, self._loop
        if client is None or loop is None:
            raise RuntimeError("AckedPublisher.start() was not called")
        token = str(next(self._tokens))
        future: asyncio.Future[Msg] = loop.create_future()
        self._waiting[token] = future
        timer = loop.call_later(timeout, _expire, future)
        try:
            await client.publish(
                subject,
                payload,
                reply=self._prefix + token,
                headers={**headers, Header.EXPECTED_STREAM: stream},
            )
            reply = await future
        finally:
            timer.cancel()
            del self._waiting[token]
        if reply.headers and reply.headers.get(Header.STATUS) == NO_RESPONDERS_STATUS:
            raise NoStreamResponseError
        response = _response(reply.data)
        if "error" in response:
            raise APIError.from_error(response["error"])
        if type(response) is dict and response.keys() <= _PLAIN_ACK:
            return PubAck(**response)
        ack: PubAck = PubAck.from_response(response)
        return ack
