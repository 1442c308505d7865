"""The raw HTTP baselines for ``make bench``: an ASGI app that answers 202 and does nothing else,
or (``--nats-url``) only a JetStream publish with PubAck per POST, the least ingest can do.

Served exactly as the services are (uvicorn on uvloop + httptools, :func:`uvicorn_config`), so
the ratio to ingest is about ingest's own work, not the server stack.
"""

from __future__ import annotations

import argparse
import itertools
from typing import Any

import nats
import uvicorn
from nats.js.api import StreamConfig
from pdjira_common.config import HttpListen
from pdjira_common.service import run, uvicorn_config

__all__ = ["STREAM", "SUBJECTS", "App"]

STREAM = "BAREASGI"
SUBJECTS = "bare.>"


class App:
    """The bare app; with a NATS URL each POST body is published (PubAck awaited) before 202."""

    def __init__(self, nats_url: str | None) -> None:
        self.nats_url = nats_url
        self.js: Any = None
        self.nc: Any = None
        self.ids = itertools.count()

    async def _startup(self) -> None:
        if self.nats_url:
            self.nc = await nats.connect(self.nats_url)
            self.js = self.nc.jetstream()
            await self.js.add_stream(StreamConfig(name=STREAM, subjects=[SUBJECTS]))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await self._startup()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self.nc is not None:
                        await self.nc.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] == "/health":
            status = 200
        else:
            status = 202
            if self.js is not None:
                n = next(self.ids)
                await self.js.publish(f"bare.{n % 64}", body, headers={"Nats-Msg-Id": str(n)})
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b'{"status":"accepted"}'})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--nats-url", help="publish each POST body to JetStream (PubAck)")
    args = parser.parse_args()
    config = uvicorn_config(App(args.nats_url), HttpListen(host="127.0.0.1", port=args.port))
    run(uvicorn.Server(config).serve())


if __name__ == "__main__":
    main()
