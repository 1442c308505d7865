"""The HTTP client of webhook deliveries: keep-alive HTTP/1.1 POSTs on raw asyncio streams.

httpx cost the simulators most of their CPU in a burst (its pool checks every pooled connection
with a ``select`` per request, and each request goes through several layers): in a burst of
2,000 incidents the PagerDuty simulator spent ~70% of its time in httpx delivering webhooks.
A delivery needs a status code only, so this sends the request and reads the answer itself.

Failures are raised as httpx's exceptions (``httpx.TimeoutException``, ``httpx.ConnectError``,
``httpx.RemoteProtocolError``) so the dispatchers' handling and delivery log read the same.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import NamedTuple
from urllib.parse import urlsplit

import httpx

__all__ = ["HookClient", "HookResponse"]

_Key = tuple[str, str, int]
_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]
MAX_HEAD = 64 * 1024


class HookResponse(NamedTuple):
    status_code: int


class _Stale(Exception):
    """A reused keep-alive connection was closed by the receiver before it answered."""


class HookClient:
    """POSTs over keep-alive connections, pooled per (scheme, host, port); idle connections
    are reused most recent first. ``timeout`` bounds each attempt (connect, send, answer)."""

    def __init__(self, timeout: float, max_idle: int = 64) -> None:
        self._timeout = timeout
        self._max_idle = max_idle
        self._idle: dict[_Key, list[_Conn]] = {}
        self._ssl: ssl.SSLContext | None = None

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> HookResponse:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise httpx.UnsupportedProtocol(f"cannot deliver to {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        key = (parts.scheme, parts.hostname, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        request = _request(target, host, body, headers)
        try:
            async with asyncio.timeout(self._timeout):
                while (conn := self._take_idle(key)) is not None:
                    try:
                        return await self._exchange(key, conn, request)
                    except _Stale:
                        continue  # closed while idle: the next one, or a new connection
                conn = await self._connect(key)
                try:
                    return await self._exchange(key, conn, request)
                except _Stale:
                    raise httpx.RemoteProtocolError(
                        "Server disconnected without sending a response."
                    ) from None
        except TimeoutError:
            raise httpx.ReadTimeout(f"no answer from {url} within {self._timeout}s") from None

    def _take_idle(self, key: _Key) -> _Conn | None:
        idle = self._idle.get(key)
        while idle:
            reader, writer = idle.pop()
            if not reader.at_eof() and not writer.is_closing():
                return reader, writer
            writer.close()
        return None

    async def _connect(self, key: _Key) -> _Conn:
        scheme, hostname, port = key
        context = None
        if scheme == "https":
            self._ssl = self._ssl or ssl.create_default_context()
            context = self._ssl
        try:
            return await asyncio.open_connection(hostname, port, ssl=context)
        except OSError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from None

    async def _exchange(self, key: _Key, conn: _Conn, request: bytes) -> HookResponse:
        reader, writer = conn
        reusable = False
        try:
            try:
                writer.write(request)
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as exc:
                if not exc.partial:
                    raise _Stale from None
                raise httpx.RemoteProtocolError("incomplete response head") from None
            except (ConnectionError, BrokenPipeError):
                raise _Stale from None
            except asyncio.LimitOverrunError:
                raise httpx.RemoteProtocolError("response head too long") from None
            status, reusable = await _read_rest(reader, head)
            return HookResponse(status)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            raise httpx.RemoteProtocolError(str(exc) or type(exc).__name__) from None
        finally:
            idle = self._idle.setdefault(key, [])
            if reusable and len(idle) < self._max_idle:
                idle.append(conn)
            else:
                writer.close()

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for _, writer in idle:
                writer.close()
        self._idle.clear()


def _request(target: str, host: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_rest(reader: asyncio.StreamReader, head: bytes) -> tuple[int, bool]:
    """The status of a response whose head was read, its body read and dropped; whether the
    connection can carry another request."""
    lines = head.decode("latin-1").split("\r\n")
    version, status_text = lines[0].split(" ", 2)[:2]
    status = int(status_text)
    length: int | None = None
    chunked = False
    keep_alive = version == "HTTP/1.1"
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding":
            chunked = "chunked" in value.lower()
        elif name == "connection":
            keep_alive = "close" not in value.lower() and (
                keep_alive or "keep-alive" in value.lower()
            )
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length is not None:
        await reader.readexactly(length)
    elif status >= 200 and status not in (204, 304):
        await reader.read()  # until the server closes: the body has no length
        keep_alive = False
    return status, keep_alive
