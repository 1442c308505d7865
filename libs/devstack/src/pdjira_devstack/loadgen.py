"""A minimal keep-alive HTTP/1.1 POST load generator for ``make bench``.

httpx costs milliseconds of CPU per request on this machine, which would make the client, not the
server, the thing measured; this writes requests on raw asyncio streams instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from urllib.parse import urlsplit

__all__ = ["post_many", "post_paced"]


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
        elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


def _request(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def post_many(
    url: str,
    make: Callable[[int], tuple[bytes, dict[str, str]]],
    count: int,
    concurrency: int,
) -> tuple[float, list[float], dict[int, int]]:
    """POST ``count`` bodies over ``concurrency`` connections; rate, latencies, status counts."""
    parts = urlsplit(url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"
    next_index = iter(range(count))
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for index in next_index:
                request = _request(host, port, path, *make(index))
                started = time.perf_counter()
                writer.write(request)
                status = await _read_response(reader)
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return count / (time.perf_counter() - started), latencies, statuses


async def post_paced(
    url: str,
    make: Callable[[int], tuple[bytes, dict[str, str]]],
    count: int,
    rate: float,
    connections: int,
) -> tuple[dict[int, float], dict[int, int], float]:
    """POST ``count`` bodies offered at ``rate`` per second (open loop: request ``i`` is due at
    ``i / rate`` s, whatever the answers), spread over ``connections`` keep-alive connections.

    Returns when each request was answered 2xx (``time.perf_counter()``, by index), the status
    counts, and the largest lag behind schedule (s): above a few ms, the offer was not kept."""
    parts = urlsplit(url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"
    answered: dict[int, float] = {}
    statuses: dict[int, int] = {}
    lag = 0.0
    start = time.perf_counter() + 0.05

    async def connection(first: int) -> None:
        nonlocal lag
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for index in range(first, count, connections):
                request = _request(host, port, path, *make(index))
                due = start + index / rate
                now = time.perf_counter()
                if due > now:
                    await asyncio.sleep(due - now)
                else:
                    lag = max(lag, now - due)
                writer.write(request)
                status = await _read_response(reader)
                if 200 <= status < 300:
                    answered[index] = time.perf_counter()
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(connection(k) for k in range(connections)))
    return answered, statuses, lag
