"""Ingest's JetStream publish answers as nats-py's JetStreamContext.publish does."""

from __future__ import annotations

import json

import nats
import pytest
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import StreamConfig
from nats.js.errors import APIError, NoStreamResponseError
from pdjira_common import streams
from pdjira_devstack.nats_server import NatsServer
from pdjira_ingest.app import _Accepted
from pdjira_ingest.store import AckedPublisher
from starlette.responses import JSONResponse

HEADERS = {"Nats-Msg-Id": "one", "Pdjira-Correlation-Id": "one"}


async def _publisher(nc: Client) -> AckedPublisher:
    publisher = AckedPublisher()
    await publisher.start(nc)
    return publisher


async def test_acks_and_duplicates_are_those_of_jetstream_publish(nc: Client) -> None:
    publisher = await _publisher(nc)
    js = nc.jetstream()

    first = await publisher.publish(
        "events.pd.acme.P1", b"{}", stream=streams.EVENTS, headers=dict(HEADERS), timeout=2.0
    )
    again = await publisher.publish(
        "events.pd.acme.P1", b"{}", stream=streams.EVENTS, headers=dict(HEADERS), timeout=2.0
    )
    theirs = await js.publish(
        "events.pd.acme.P1", b"{}", stream=streams.EVENTS, headers=dict(HEADERS), timeout=2.0
    )

    assert (first.stream, first.seq, first.duplicate) == (streams.EVENTS, 1, None)
    assert again == theirs
    assert (again.seq, again.duplicate) == (1, True)
    stored = await js.get_msg(streams.EVENTS, 1)
    assert stored.headers == {**HEADERS, "Nats-Expected-Stream": streams.EVENTS}


async def test_refusals_raise_what_jetstream_publish_raises(nc: Client) -> None:
    publisher = await _publisher(nc)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="OTHER", subjects=["other.>"]))

    with pytest.raises(NoStreamResponseError):  # no stream takes the subject
        await publisher.publish("nowhere.x", b"{}", stream="EVENTS", headers={}, timeout=2.0)
    with pytest.raises(APIError) as ours:  # a stream takes it, not the expected one
        await publisher.publish("other.x", b"{}", stream=streams.EVENTS, headers={}, timeout=2.0)
    with pytest.raises(APIError) as theirs:
        await js.publish("other.x", b"{}", stream=streams.EVENTS, headers={}, timeout=2.0)
    assert (ours.value.code, ours.value.err_code) == (theirs.value.code, theirs.value.err_code)


async def test_a_server_that_does_not_answer_is_a_nats_timeout(nats_server: NatsServer) -> None:
    client = await nats.connect(nats_server.url)
    try:
        publisher = await _publisher(client)
        await client.jetstream().add_stream(StreamConfig(name="T", subjects=["t.>"]))
        nats_server.pause()
        try:
            with pytest.raises(NatsTimeoutError):
                await publisher.publish("t.x", b"{}", stream="T", headers={}, timeout=0.3)
        finally:
            nats_server.resume()
        assert not publisher._waiting
    finally:
        await client.close()


async def test_unstarted_publisher_refuses() -> None:
    with pytest.raises(RuntimeError):
        await AckedPublisher().publish("t.x", b"", stream="T", headers={}, timeout=1.0)


@pytest.mark.parametrize("event_id", ["pd:acme:5ac6-48", "jira:dc1:10100:h7", 'a"\\\n\u00e9\u2028'])
@pytest.mark.parametrize("duplicate", [False, True])
def test_accepted_answer_is_the_json_response_it_replaces(event_id: str, duplicate: bool) -> None:
    ours = _Accepted(event_id, duplicate)
    theirs = JSONResponse({"status": "accepted", "event_id": event_id, "duplicate": duplicate}, 202)
    assert (ours.status_code, ours.body, ours.raw_headers) == (
        theirs.status_code,
        theirs.body,
        theirs.raw_headers,
    )
    assert json.loads(ours.body)["event_id"] == event_id
