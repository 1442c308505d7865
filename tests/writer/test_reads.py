"""The kernel's read responders on a real nats-server: typed requests through FastStream's
msgspec serializer, and an answer with ``error`` for whatever cannot be answered, never a
silent timeout."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import msgspec
import pytest
from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.errors import NoRespondersError
from pdjira_common.bus import make_broker
from pdjira_common.config import RetrySettings
from pdjira_common.contracts import encode
from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.waiting import wait_until
from pdjira_writer.errors import Refused
from pdjira_writer.reads import answer_read, read_from, serve_read
from pdjira_writer.spec import Vendor, WriterSpec

SPEC = WriterSpec(
    name="acme-writer",
    commands="commands.acme.>",
    vendor=Vendor(name="Acme", target="tenant", config_key="acme_tenants", metric="m"),
)


class ItemRead(msgspec.Struct, frozen=True, kw_only=True, tag="reads.acme_item.v1"):
    tenant: str
    item_id: str


class ItemReply(msgspec.Struct, frozen=True, kw_only=True, tag="reads.acme_item_reply.v1"):
    name: str | None = None
    error: str | None = None


class Client_:
    """A vendor client: item names by id; "boom" is a bug, "gone" the vendor's refusal."""

    async def name_of(self, item_id: str) -> str:
        if item_id == "boom":
            raise KeyError(item_id)
        if item_id == "gone":
            raise Refused("Acme tenant 't1' refused get item gone (404): no such item")
        return f"item {item_id}"


CLIENTS = {"t1": Client_()}


async def item(request: ItemRead) -> ItemReply:
    found = await read_from(
        CLIENTS, request.tenant, SPEC, "item", lambda c: c.name_of(request.item_id)
    )
    return (
        ItemReply(error=found) if found.startswith(("unknown", "Acme")) else ItemReply(name=found)
    )


async def raw_item(request: ItemRead) -> ItemReply:
    return ItemReply(name=await CLIENTS[request.tenant].name_of(request.item_id))


@pytest.fixture
async def broker(nc: Client, nats_server: NatsServer) -> AsyncIterator[NatsBroker]:
    broker = make_broker(nats_server.url, consumer=SPEC.name, retry=RetrySettings())
    serve_read(broker, "reads.acme.*.item", item, queue=SPEC.name)
    serve_read(broker, "reads.acme.*.raw", raw_item, queue=SPEC.name)
    async with broker:
        await broker.start()
        for what in ("item", "raw"):  # the subscriptions reached the server
            await wait_until(answered(nc, what), timeout=5, what=f"{what} reads", interval=0.02)
        yield broker


def answered(nc: Client, what: str) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        try:
            await nc.request(f"reads.acme.t1.{what}", b"", timeout=1)
        except NoRespondersError:
            return False
        return True

    return probe


async def ask(nc: Client, what: str, body: bytes) -> ItemReply:
    answer = await nc.request(f"reads.acme.t1.{what}", body, timeout=5)
    return msgspec.json.decode(answer.data, type=ItemReply)


async def test_a_typed_request_gets_its_typed_answer(nc: Client, broker: NatsBroker) -> None:
    reply = await ask(nc, "item", encode(ItemRead(tenant="t1", item_id="7")))
    assert reply == ItemReply(name="item 7")


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"{}", "not a ItemRead: Object missing required field `tenant`"),
        (b'{"tenant": "t1", "item_id": 7}', "not a ItemRead: Expected `str`, got `int`"),
        (b"\xff not json", "not a ItemRead: "),
        (b"", "not a ItemRead: "),
    ],
)
async def test_a_request_that_is_not_the_answers_type_is_refused_in_its_reply(
    nc: Client, broker: NatsBroker, body: bytes, why: str
) -> None:
    reply = await ask(nc, "item", body)
    assert reply.name is None
    assert reply.error is not None
    assert reply.error.startswith(why)


async def test_unknown_targets_and_refusals_are_answers(nc: Client, broker: NatsBroker) -> None:
    unknown = await ask(nc, "item", encode(ItemRead(tenant="t9", item_id="7")))
    assert unknown.error == "unknown Acme tenant 't9' (configured: ['t1']); ask for one of them"
    gone = await ask(nc, "item", encode(ItemRead(tenant="t1", item_id="gone")))
    assert gone.error == "Acme tenant 't1' refused get item gone (404): no such item"


async def test_a_failing_answer_is_still_an_answer(nc: Client, broker: NatsBroker) -> None:
    reply = await ask(nc, "raw", encode(ItemRead(tenant="t1", item_id="boom")))
    assert reply.error == "KeyError: 'boom'"


async def test_answer_read_is_the_reply_or_the_reply_with_why_there_is_none() -> None:
    async def reply(client: Client_, item_id: str) -> ItemReply:
        return ItemReply(name=await client.name_of(item_id))

    async def answer(tenant: str, item_id: str) -> ItemReply:
        return await answer_read(
            CLIENTS, tenant, SPEC, "item", lambda c: reply(c, item_id), ItemReply
        )

    assert await answer("t1", "7") == ItemReply(name="item 7")
    refused = await answer("t1", "gone")
    assert refused == ItemReply(error="Acme tenant 't1' refused get item gone (404): no such item")
    unknown = await answer("t9", "7")
    assert unknown.name is None
    assert unknown.error is not None
    assert "'t9'" in unknown.error, unknown.error
    assert "t1" in unknown.error, unknown.error
    assert "ask for one of them" in unknown.error, unknown.error
