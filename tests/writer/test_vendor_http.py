"""The kernel's vendor HTTP base with a made-up vendor: the request loop (pacer, 429 tried again
after the pause, then the command retried), the one classification of answers, transport
failures, bodies that do not decode, the counted requests. On virtual time: no real waits."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import msgspec
import pytest
from pdjira_common.config import RateLimit
from pdjira_common.retry import Retryable
from pdjira_common.shared_budget import SharedBudget
from pdjira_writer.errors import Refused, transport_failure
from pdjira_writer.metrics import WriterMetrics
from pdjira_writer.spec import Vendor, WriterSpec
from pdjira_writer.vendor_http import HttpOptions, VendorAnswers, VendorHttp
from support.memory_kv import MemoryKv
from support.virtual_time import Sent, TimedTransport, VirtualClock

ACME = Vendor(name="Acme", target="tenant", config_key="acme_tenants", metric="acme_requests")
SPEC = WriterSpec(name="acme-writer", commands="commands.acme.>", vendor=ACME)


class AcmeError(Refused):
    pass


class AcmeAnswers(VendorAnswers):
    """Acme's words are the body; ``wait`` the seconds to wait after a 429; ``rate`` its limit."""

    vendor = ACME
    refusal = AcmeError

    def words(self, body: bytes) -> tuple[str, int | None]:
        return body.decode() or "(no error text)", 42

    def retry_after(self, status: int, headers: Mapping[str, str]) -> float | None:
        value = headers.get("wait")
        return float(value) if value else None

    def hint(self, status: int, code: int | None, text: str, target: str) -> str | None:
        return f"renew the key of tenant '{target}'" if status == 401 else None

    def pause_seconds(self, status: int, headers: Mapping[str, str]) -> float | None:
        return self.retry_after(status, headers) if status == 429 else None

    def server_rate(self, headers: Mapping[str, str]) -> float | None:
        value = headers.get("rate")
        return float(value) if value else None


class Item(msgspec.Struct):
    id: str


Answer = Callable[[httpx.Request], httpx.Response]


def http(
    clock: VirtualClock, answer: Answer, sent: list[Sent], burst: int = 5, **options: object
) -> VendorHttp:
    transport = TimedTransport(clock, sent, "t1", httpx.MockTransport(answer))
    return VendorHttp(
        target="t1",
        base_url="http://acme.test",
        headers={"Accept": "application/json"},
        limit=RateLimit(requests_per_second=10.0, burst=burst),
        answers=AcmeAnswers(),
        options=HttpOptions(
            timeout=1.0, transport=transport, clock=clock, sleep=clock.sleep, **options
        ),
    )


def answers(*responses: httpx.Response) -> Answer:
    """Answer with ``responses`` in turn, the last one again and again."""
    queue = list(responses)

    def answer(request: httpx.Request) -> httpx.Response:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return answer


async def test_an_answer_decodes_and_every_request_is_counted() -> None:
    sent: list[Sent] = []
    metrics = WriterMetrics.create(SPEC)
    async with VirtualClock() as clock:
        vendor = http(
            clock, answers(httpx.Response(200, json={"id": "7"})), sent, requests=metrics.requests
        )
        assert await vendor.get("/items/7", Item, what="get item 7") == Item(id="7")
        await vendor.aclose()
    assert vendor.closed
    labels = {"tenant": "t1", "method": "GET", "status": "200"}
    assert metrics.registry.get_sample_value("acme_requests_total", labels) == 1.0


async def test_a_429_pauses_the_target_then_the_same_call_is_tried_again() -> None:
    sent: list[Sent] = []
    async with VirtualClock() as clock:
        limited = httpx.Response(429, headers={"wait": "3"}, content=b"slow down")
        vendor = http(clock, answers(limited, httpx.Response(200, json={"id": "7"})), sent)
        assert await vendor.get("/items/7", Item, what="get item 7") == Item(id="7")
    assert [r.status for r in sent] == [429, 200]
    assert sent[1].at - sent[0].at == pytest.approx(3.0)


async def test_three_429s_retry_the_command_after_the_wait_the_vendor_asked_for() -> None:
    sent: list[Sent] = []
    async with VirtualClock() as clock:
        limited = httpx.Response(429, headers={"wait": "2"}, content=b"slow down")
        vendor = http(clock, answers(limited), sent)
        with pytest.raises(Retryable) as caught:
            await vendor.call("GET", "/items", what="list items")
    assert len(sent) == 3
    assert caught.value.delay == 2.0
    assert caught.value.reason == "Acme tenant 't1' answered 429 to list items: slow down"


FIX_THE_RULE = "fix the rule or the Acme configuration it refers to, then replay the command"


@pytest.mark.parametrize(
    ("status", "kind", "reason"),
    [
        # Timeouts and server errors may pass later: retried (the command, by its consumer).
        (408, Retryable, "Acme tenant 't1' answered 408 to add item: no"),
        (500, Retryable, "Acme tenant 't1' answered 500 to add item: no"),
        (503, Retryable, "Acme tenant 't1' answered 503 to add item: no"),
        # Anything else is the vendor's refusal, in its words, with what to do about it.
        (
            401,
            AcmeError,
            "Acme tenant 't1' refused add item (401): no; renew the key of tenant 't1'",
        ),
        (400, AcmeError, f"Acme tenant 't1' refused add item (400): no; {FIX_THE_RULE}"),
    ],
)
async def test_each_answer_is_retried_or_refused_in_the_vendors_words(
    status: int, kind: type[Exception], reason: str
) -> None:
    sent: list[Sent] = []
    async with VirtualClock() as clock:
        vendor = http(clock, answers(httpx.Response(status, content=b"no")), sent)
        with pytest.raises(kind) as caught:
            await vendor.call("POST", "/items", what="add item")
    error = caught.value
    assert isinstance(error, Retryable | AcmeError)
    assert error.reason == reason
    assert len(sent) == 1
    if isinstance(error, AcmeError):
        assert (error.status_code, error.code) == (status, 42)


async def test_a_body_that_does_not_decode_is_retried() -> None:
    sent: list[Sent] = []
    async with VirtualClock() as clock:
        vendor = http(clock, answers(httpx.Response(200, content=b"<html>proxy</html>")), sent)
        with pytest.raises(Retryable, match="Acme tenant 't1' answered get item 7 with an unexp"):
            await vendor.get("/items/7", Item, what="get item 7")


async def test_no_answer_is_retried_and_counted_as_an_error() -> None:
    metrics = WriterMetrics.create(SPEC)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    async with VirtualClock() as clock:
        vendor = http(clock, refuse, [], requests=metrics.requests)
        with pytest.raises(Retryable) as caught:
            await vendor.call("GET", "/items", what="list items")
    assert caught.value.reason == (
        "list items on Acme tenant 't1' failed: ConnectError: connection refused"
    )
    labels = {"tenant": "t1", "method": "GET", "status": "error"}
    assert metrics.registry.get_sample_value("acme_requests_total", labels) == 1.0


@pytest.mark.parametrize(
    ("exc", "needle"),
    [
        (httpx.ReadTimeout("read timed out"), "timed out: ReadTimeout: read timed out"),
        (httpx.ConnectTimeout(""), "timed out: ConnectTimeout"),
        (httpx.RemoteProtocolError("peer closed"), "failed: RemoteProtocolError: peer closed"),
    ],
)
def test_transport_failures_say_timed_out_or_failed(exc: httpx.HTTPError, needle: str) -> None:
    result = transport_failure(exc, what="add item", target=ACME.label("t1"))
    assert result.reason == f"add item on Acme tenant 't1' {needle}"
    assert result.delay is None


async def test_the_rate_the_server_announces_lowers_the_pace() -> None:
    sent: list[Sent] = []
    async with VirtualClock() as clock:
        announced = httpx.Response(200, headers={"rate": "2"}, json={"id": "1"})
        vendor = http(clock, answers(announced), sent, burst=1)
        for _ in range(3):
            await vendor.get("/items/1", Item, what="get item 1")
    assert vendor.pacer.rate == 2.0
    # The second call's slot was taken at our own 10/s; from then on, the server's 2/s.
    assert [round(b.at - a.at, 3) for a, b in itertools.pairwise(sent)] == [0.1, 0.5]


async def test_with_nats_the_replicas_share_the_budget_and_a_429_holds_them_all() -> None:
    kv = MemoryKv()

    async def open_bucket() -> Any:
        return kv

    def replica(answer: Answer) -> VendorHttp:
        return http(clock, answer, sent, burst=1, budgets=open_bucket, wall_clock=clock, replicas=2)

    sent: list[Sent] = []
    async with VirtualClock(start=1_000.0) as clock:
        limited = httpx.Response(429, headers={"wait": "2"}, content=b"slow down")
        first = replica(answers(limited, httpx.Response(200, json={"id": "7"})))
        other = replica(answers(httpx.Response(200, json={"id": "8"})))
        assert isinstance(first.pacer, SharedBudget)
        await asyncio.gather(
            first.get("/items/7", Item, what="get item 7"),  # 429, then 200 after the pause
            *(other.get("/items/8", Item, what="get item 8") for _ in range(3)),
        )
    assert [(r.path, r.status) for r in sent[:2]] == [("/items/7", 429), ("/items/7", 200)]
    assert sent[1].at == pytest.approx(1_002.0)
    others = [r.at for r in sent if r.path == "/items/8"]
    assert len(others) == 3
    assert min(others) > 1_002.0  # the pause held the other replica too, then its slot
    # The 429 said when to come back: obeyed as it is, the rate is not lowered on top.
    assert kv.state("acme.t1").rate == pytest.approx(10.0)


async def test_a_429_that_names_neither_a_rate_nor_a_pause_halves_the_shared_rate() -> None:
    kv = MemoryKv()

    async def open_bucket() -> Any:
        return kv

    sent: list[Sent] = []
    async with VirtualClock(start=1_000.0) as clock:
        bare = httpx.Response(429, content=b"slow down")
        first, other = (
            http(
                clock,
                answers(*responses),
                sent,
                burst=1,
                budgets=open_bucket,
                wall_clock=clock,
                replicas=2,
            )
            for responses in (
                (bare, httpx.Response(200, json={"id": "7"})),
                (httpx.Response(200, json={"id": "8"}),),
            )
        )
        await first.get("/items/7", Item, what="get item 7")
        await other.get("/items/8", Item, what="get item 8")
    # Nothing to follow: the target's learned rate halved for both (and climbs back).
    assert kv.state("acme.t1").rate == pytest.approx(5.0)
    assert other.pacer.rate < 10.0
