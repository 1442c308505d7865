"""Hostile input against the real ingest (uvicorn on a port, real nats-server): over 10,000
generated requests, signed and not, and never a 5xx; nothing refused is stored; still healthy.

Seeded: a failure names the request's kind and repeats with the same seed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import structlog

from .conftest import JIRA_SECRET, JIRA_TOKEN, PD_SECRET, Served
from .payloads import (
    hub_signature,
    jira_issue_created,
    jira_issue_updated,
    pd_envelope,
    pd_incident,
    pd_signature,
    to_body,
)

SEED = 20_240_601
REQUESTS = 10_400
CONCURRENCY = 4
PD_URL = "/webhooks/pagerduty/acme"
JIRA_URL = "/webhooks/jira/dc1"
TOKEN_URL = f"/webhooks/jira/legacy?token={JIRA_TOKEN}"
ANY_4XX = frozenset(range(400, 500))
Json = dict[str, Any]


@dataclass
class Case:
    kind: str
    method: str
    path: str
    expected: frozenset[int]
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _pd_payload(rng: random.Random) -> Json:
    incident = pd_incident(incident_id=f"Q{rng.randrange(36**6):06d}")
    return pd_envelope("incident.triggered", incident, event_id=f"ev-{rng.getrandbits(64):x}")


def _jira_payload(rng: random.Random) -> Json:
    issue_id = str(rng.randrange(10_000, 10**9))
    if rng.random() < 0.5:
        return jira_issue_created(issue_id=issue_id, key=f"OPS-{rng.randrange(1, 10**6)}")
    payload = jira_issue_updated(
        [{"field": "status", "from": "1", "fromString": "Open", "to": "3", "toString": "Done"}]
    )
    payload["issue"]["id"] = issue_id
    payload["changelog"]["id"] = str(rng.randrange(10**9))
    return payload


def _pd(body: bytes, kind: str, expected: set[int] | frozenset[int], **headers: str) -> Case:
    signed = {"X-PagerDuty-Signature": pd_signature(body, PD_SECRET), **headers}
    return Case(kind, "POST", PD_URL, frozenset(expected), body, signed)


def _jira(body: bytes, kind: str, expected: set[int] | frozenset[int], rng: random.Random) -> Case:
    """Authenticated either way: DC signature, or the URL token of the other instance."""
    if rng.random() < 0.5:
        headers = {"X-Hub-Signature": hub_signature(body, JIRA_SECRET)}
        return Case(kind, "POST", JIRA_URL, frozenset(expected), body, headers)
    return Case(kind, "POST", TOKEN_URL, frozenset(expected), body)


# -------------------------------------------------------------------- PagerDuty field mutations

HUGE = "A" * 5_000
BAD_IDS = ["a.b", "a b", "*", ">", "a/b", "ü", "a\nb", "", HUGE, "x" * 129]


def _pd_field(rng: random.Random) -> tuple[str, Json]:
    payload = _pd_payload(rng)
    event, data = payload["event"], payload["event"]["data"]
    choice = rng.randrange(8)
    if choice == 0:
        event["id"] = rng.choice(BAD_IDS)
        return "pd-bad-event-id", payload
    if choice == 1:
        data["id"] = rng.choice(BAD_IDS)
        return "pd-bad-incident-id", payload
    if choice == 2:
        data["number"] = rng.choice([1e18, -1, 10**30, 2**63, "2", None, 1.5, True])
        return "pd-bad-number", payload
    if choice == 3:
        event["occurred_at"] = rng.choice(
            ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "yesterday", "", 12, "2020-13-45"]
        )
        return "pd-bad-time", payload
    if choice == 4:
        event["data"] = rng.choice([[], "x", 1, None, {"type": "incident"}])
        return "pd-wrong-type", payload
    if choice == 5:
        data["service"] = rng.choice([{"id": HUGE}, {"id": "a.b"}, "svc", None])
        return "pd-bad-service", payload
    if choice == 6:
        event["agent"] = {"id": rng.choice([*BAD_IDS[:-2], HUGE]), "type": "user_reference"}
        if event["agent"]["id"] == "":
            event["agent"]["id"] = "a.b"
        return "pd-bad-agent", payload
    return "pd-wrong-root", rng.choice([[], "x", 1, None, {"messages": []}, {}])  # type: ignore[return-value]


def _jira_field(rng: random.Random) -> tuple[str, Any]:
    payload = _jira_payload(rng)
    choice = rng.randrange(6)
    if choice == 0:
        payload["timestamp"] = rng.choice([10**18, 1e18, -1, 0, "1565751753680", 1.5, 2**70])
        return "jira-bad-timestamp", payload
    if choice == 1:
        payload["issue"]["id"] = rng.choice([*BAD_IDS, "9" * 5000])
        return "jira-bad-issue-id", payload
    if choice == 2:
        payload["issue"]["key"] = rng.choice(["OPS 4", "OPS.4", "OPS-4>", HUGE, ""])
        return "jira-bad-key", payload
    if choice == 3:
        payload.setdefault("changelog", {"items": []})["id"] = rng.choice(["1.2", HUGE, "a b"])
        payload["webhookEvent"] = "jira:issue_updated"
        return "jira-bad-changelog-id", payload
    if choice == 4:
        payload["user"] = {"key": "u" * 5_000, "name": "someone"}
        return "jira-bad-user", payload
    return "jira-wrong-type", rng.choice([[], "x", 1, None, {"webhookEvent": 5}, {}])


# -------------------------------------------------------------------- byte-level mutations


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _hostile_bytes(rng: random.Random, body: bytes) -> tuple[str, bytes]:
    choice = rng.randrange(7)
    if choice == 0:
        return "truncated", body[: rng.randrange(len(body))]
    if choice == 1:
        at = body.index(b'"title"') + 10
        return "not-utf8", body[:at] + rng.choice([b"\xff\xfe", b"\xed\xa0\x80", b"\xc3"]) + body[
            at:
        ]
    if choice == 2:
        surrogate = rng.choice([b"\\ud800", b"\\udc00x", b"\\ud800\\ud800"])
        return "lone-surrogate", body.replace(b'"A little bump', b'"' + surrogate, 1)
    if choice == 3:
        depth = rng.choice([65, 200, 999, 1_001, 5_000, 20_000])
        return "deep", body[:-1] + b', "deep": ' + _deep(depth) + b"}"
    if choice == 4:
        return "deep-root", _deep(rng.choice([65, 1_000, 20_000]))
    if choice == 5:
        number = rng.choice([b"1e400", b"-1e400", b"1" + b"0" * 400, b"NaN", b"Infinity"])
        return "huge-number", body[:-1] + b', "n": ' + number + b"}"
    return "garbage", rng.randbytes(rng.randrange(1, 2_000))


# -------------------------------------------------------------------- the mix


def _case(rng: random.Random, sent: list[Case]) -> Case:
    roll = rng.randrange(100)
    if roll < 10:  # valid PagerDuty, stored
        return _pd(to_body(_pd_payload(rng)), "pd-valid", {202})
    if roll < 17:  # valid Jira, stored
        return _jira(to_body(_jira_payload(rng)), "jira-valid", {202}, rng)
    if roll < 19 and sent:  # a redelivery of an earlier one
        earlier = rng.choice(sent)
        return Case(
            "redelivery",
            earlier.method,
            earlier.path,
            earlier.expected,
            earlier.body,
            earlier.headers,
        )
    if roll < 22:  # unknown event types: 202, not stored
        payload = _pd_payload(rng)
        payload["event"]["event_type"] = rng.choice(["service.created", "pagey.ping", "x" * 300])
        if rng.random() < 0.5:
            return _pd(to_body(payload), "pd-ignored", {202})
        jira = _jira_payload(rng)
        jira["webhookEvent"] = rng.choice(["comment_created", "jira:worklog_updated", "?" * 300])
        return _jira(to_body(jira), "jira-ignored", {202}, rng)
    if roll < 40:
        kind, pd_payload = _pd_field(rng)
        return _pd(to_body(pd_payload), kind, {400})
    if roll < 52:
        kind, jira_payload = _jira_field(rng)
        return _jira(to_body(jira_payload), kind, {400}, rng)
    if roll < 68:
        kind, body = _hostile_bytes(rng, to_body(_pd_payload(rng)))
        if rng.random() < 0.5:
            return _pd(body, "pd-" + kind, {400})
        jira_body = to_body(_jira_payload(rng))
        kind, body = _hostile_bytes(
            rng, jira_body.replace(b'"summary": "', b'"title": "A little bump', 1)
        )
        return _jira(body, "jira-" + kind, {400}, rng)
    if roll < 76:  # unauthenticated or badly signed, with any of the bodies above
        body = to_body(_pd_payload(rng)) if rng.random() < 0.5 else rng.randbytes(100)
        bad = rng.choice(
            [
                None,
                "v1=zz",
                "v1=",
                "garbage",
                "sha256=" + "0" * 64,
                ",".join(["v1=" + "0" * 64] * rng.choice([2, 50, 120])),
                "v1=" + "ab" * 3_000,
                ",,,,=,=v1,v1==",
            ]
        )
        which = rng.randrange(5)
        if which == 0:
            headers = {} if bad is None else {"X-PagerDuty-Signature": bad}
            return Case("pd-unsigned", "POST", PD_URL, frozenset({401}), body, headers)
        if which == 1:
            headers = {} if bad is None else {"X-Hub-Signature": bad}
            return Case("jira-unsigned", "POST", JIRA_URL, frozenset({401}), body, headers)
        if which == 2:
            query = rng.choice(["", "?token=", "?token=guess", f"?token={JIRA_TOKEN}x", "?tok=1"])
            return Case(
                "jira-no-token", "POST", "/webhooks/jira/legacy" + query, frozenset({401}), body
            )
        if which == 3:
            headers = {"X-PagerDuty-Signature": pd_signature(body, PD_SECRET)}
            return Case(
                "pd-no-secrets",
                "POST",
                "/webhooks/pagerduty/nosecrets",
                frozenset({401}),
                body,
                headers,
            )
        target = rng.choice(["other", "a" * 5_000, "acme.x", "%00", "..", "acme%2F..%2Fdc1"])
        headers = {"X-PagerDuty-Signature": pd_signature(body, PD_SECRET)}
        source = rng.choice(["pagerduty", "jira"])
        return Case(
            "unknown-target",
            "POST",
            f"/webhooks/{source}/{target}",
            frozenset({404}),
            body,
            headers,
        )
    if roll < 86:  # wrong methods and paths
        method = rng.choice(["GET", "PUT", "DELETE", "PATCH", "OPTIONS"])
        if rng.random() < 0.5:
            path = rng.choice([PD_URL, JIRA_URL, TOKEN_URL, "/webhooks/pagerduty/other"])
            return Case("wrong-method", method, path, frozenset({405}), b"{}")
        path = rng.choice(
            [
                "/",
                "/webhooks",
                "/webhooks/pagerduty",
                "/webhooks/pagerduty/acme/extra",
                "/webhooks/jira/",
                "/" + "x" * 3_000,
                "/%ff%fe",
                "/webhooks/other/acme",
            ]
        )
        return Case("wrong-path", rng.choice(["GET", "POST"]), path, frozenset({404, 405}), b"{}")
    if roll < 94:  # huge or odd headers
        body = to_body(_pd_payload(rng))
        headers = {"X-PagerDuty-Signature": pd_signature(body, PD_SECRET)}
        if rng.random() < 0.5:
            headers["X-Junk"] = "j" * rng.choice([8_000, 20_000, 70_000])
            # h11 refuses headers over its limit before ingest sees them
            return Case("huge-header", "POST", PD_URL, frozenset({202, 400, 431}), body, headers)
        headers["Content-Type"] = rng.choice(["text/plain", "application/xml", "x" * 500])
        return Case("odd-content-type", "POST", PD_URL, frozenset({202}), body, headers)
    if roll < 95 and rng.random() < 0.15:  # oversized: over the broker's max payload (1 MiB)
        size = rng.randrange(1_100_000, 2_200_000)
        body = b'{"event": {"x": "' + b"x" * size + b'"}}'
        if rng.random() < 0.5:
            return _pd(body, "oversized", {413})
        return _jira(body, "oversized", {413}, rng)
    # wrong types deeper inside an otherwise valid Jira body: lenient fields stay 202
    payload = _jira_payload(rng)
    payload["issue"]["fields"]["labels"] = rng.choice([["x"] * 5, []])
    payload["issue"]["fields"]["customfield_1"] = rng.choice([10**18, -1, 1e300, [1] * 200, "x"])
    return _jira(to_body(payload), "jira-lenient", {202}, rng)


def _cases(seed: int, count: int) -> list[Case]:
    rng = random.Random(seed)
    cases: list[Case] = []
    valid: list[Case] = []
    for _ in range(count):
        case = _case(rng, valid)
        if case.expected == {202} and case.kind.endswith("valid"):
            valid.append(case)
        cases.append(case)
    return cases


@dataclass
class Answer:
    case: Case
    status: int  # 0: the connection was dropped without an answer
    json: Any = None


async def _send_all(served: Served, cases: list[Case]) -> list[Answer]:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    queue: asyncio.Queue[Case] = asyncio.Queue()
    for case in cases:
        queue.put_nowait(case)
    answers: list[Answer] = []

    async with httpx.AsyncClient(base_url=served.url, limits=limits, timeout=30.0) as http:

        async def worker() -> None:
            while not queue.empty():
                case = queue.get_nowait()
                try:
                    response = await http.request(
                        case.method, case.path, content=case.body, headers=case.headers
                    )
                except httpx.TransportError:
                    answers.append(Answer(case, 0))
                    continue
                try:
                    body = response.json()
                except ValueError:
                    body = None
                answers.append(Answer(case, response.status_code, body))

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return answers


@pytest.fixture
def quiet() -> None:
    """Errors only: ten thousand refusals logged would be most of the test's time."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))


@pytest.mark.timeout(120)
async def test_ten_thousand_hostile_requests(served: Served, quiet: None) -> None:
    cases = _cases(SEED, REQUESTS)
    assert len(cases) >= 10_000

    answers = await _send_all(served, cases)

    assert len(answers) == len(cases)
    server_errors = [a for a in answers if a.status >= 500]
    assert not server_errors, [(a.case.kind, a.status, a.json) for a in server_errors[:10]]
    # Only header bombs may be dropped by the HTTP parser before any answer.
    dropped = Counter(a.case.kind for a in answers if a.status == 0)
    assert set(dropped) <= {"huge-header"}, dropped
    unexpected = [a for a in answers if a.status and a.status not in a.case.expected]
    assert not unexpected, Counter((a.case.kind, a.status) for a in unexpected).most_common(20)

    # Nothing refused was stored: the stream holds exactly the new events answered 202.
    stored = [
        a
        for a in answers
        if a.status == 202 and isinstance(a.json, dict) and a.json.get("status") == "accepted"
    ]
    new = {a.json["event_id"] for a in stored if not a.json["duplicate"]}
    assert len(new) == sum(1 for a in stored if not a.json["duplicate"])
    assert await served.stored_count() == len(new)
    assert len(new) > 1_000  # the mix really stored events too

    kinds = Counter(a.case.kind for a in answers)
    for kind in ("pd-deep", "jira-not-utf8", "pd-lone-surrogate", "oversized", "wrong-method"):
        assert kinds[kind] > 0, kinds

    async with httpx.AsyncClient(base_url=served.url) as http:
        health = await http.get("/health")
        assert (health.status_code, health.json()["status"]) == (200, "ok")
        # Still connected to NATS for good: a valid webhook is stored.
        body = to_body(_pd_payload(random.Random(1)))
        response = await http.post(
            PD_URL, content=body, headers={"X-PagerDuty-Signature": pd_signature(body, PD_SECRET)}
        )
        assert response.status_code == 202


# -------------------------------------------------------------------- HTTP framing


async def _raw(served: Served, request: bytes, *, close_write: bool = False) -> bytes:
    """Send ``request`` over a plain socket; what came back before the server closed (or 1.5 s)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    try:
        writer.write(request)
        await writer.drain()
        if close_write and writer.can_write_eof():
            writer.write_eof()
        chunks = []
        try:
            while chunk := await asyncio.wait_for(reader.read(65_536), 1.5):
                chunks.append(chunk)
        except (TimeoutError, ConnectionError):
            pass
        return b"".join(chunks)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, socket.error):
            await writer.wait_closed()


def _statuses(raw: bytes) -> list[int]:
    return [int(line.split()[1]) for line in raw.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]


def _post(path: str, body: bytes, length: int, extra: str = "") -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n{extra}\r\n"
    )
    return head.encode() + body


async def test_lying_content_length_chunked_and_disconnects_stay_4xx(served: Served) -> None:
    body = to_body(_pd_payload(random.Random(2)))
    sig = f"X-PagerDuty-Signature: {pd_signature(body, PD_SECRET)}\r\n"

    # Shorter than the body: the signed bytes are cut (401), the rest is no request (400).
    answered = _statuses(await _raw(served, _post(PD_URL, body, len(body) // 2, sig)))
    assert answered
    assert all(400 <= s < 500 for s in answered), answered
    # Longer than the body, then the client stops sending: no answer can be sent, none stored.
    answered = _statuses(
        await _raw(served, _post(PD_URL, body, len(body) + 100, sig), close_write=True)
    )
    assert all(400 <= s < 500 for s in answered), answered
    # Declared over the limit: refused before reading.
    answered = _statuses(await _raw(served, _post(PD_URL, b"", 50_000_000, sig)))
    assert answered == [413]
    # Not a number.
    answered = _statuses(
        await _raw(served, _post(PD_URL, body, 0, sig).replace(b"Length: 0", b"Length: x"))
    )
    assert answered
    assert all(400 <= s < 500 for s in answered), answered

    async with httpx.AsyncClient(base_url=served.url, timeout=30.0) as http:

        async def chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
            for at in range(0, len(data), size):
                yield data[at : at + size]

        # Chunked (no Content-Length) over the limit: 413 while reading.
        huge = b'{"x": "' + b"x" * 1_500_000 + b'"}'
        headers = {"X-PagerDuty-Signature": pd_signature(huge, PD_SECRET)}
        response = await http.post(PD_URL, content=chunks(huge, 64_000), headers=headers)
        assert response.status_code == 413
        assert "bytes" in response.json()["error"]["message"]
        # Chunked and well-formed: accepted like any other.
        headers = {"X-PagerDuty-Signature": pd_signature(body, PD_SECRET)}
        response = await http.post(PD_URL, content=chunks(body, 100), headers=headers)
        assert response.status_code == 202

    # A client gone mid-body (chunked, never finished).
    partial = (
        f"POST {PD_URL} HTTP/1.1\r\nHost: ingest\r\nTransfer-Encoding: chunked\r\n{sig}\r\n"
        "10\r\n0123456789abcdef\r\n"
    ).encode()
    answered = _statuses(await _raw(served, partial, close_write=True))
    assert all(400 <= s < 500 for s in answered), answered
    # Bad chunk framing.
    answered = _statuses(
        await _raw(
            served,
            f"POST {PD_URL} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
            + b"zz\r\n",
        )
    )
    assert all(400 <= s < 500 for s in answered), answered

    assert await served.stored_count() == 1  # only the well-formed chunked one
    async with httpx.AsyncClient(base_url=served.url) as http:
        assert (await http.get("/health")).status_code == 200
