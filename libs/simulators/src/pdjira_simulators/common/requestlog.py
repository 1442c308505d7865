"""Records every vendor REST call so tests can count (and attribute) write calls."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pdjira_simulators.common.asgi import ANSWER_DECIDED, is_admin_path, scope_state

__all__ = ["RecordedRequest", "RequestLog", "RequestLogMiddleware"]


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One REST call as seen by the simulator."""

    method: str
    path: str
    query: str
    status: int
    actor: str | None
    at: str


class RequestLog:
    """Append-only list of REST calls, cleared by tests between phases. Bounded so a long
    demo or benchmark cannot grow it without limit (the oldest entries go first)."""

    def __init__(self, max_entries: int = 200_000) -> None:
        self._entries: deque[RecordedRequest] = deque(maxlen=max_entries)

    def record(self, entry: RecordedRequest) -> None:
        self._entries.append(entry)

    def clear(self) -> None:
        self._entries.clear()

    def entries(self) -> list[RecordedRequest]:
        return list(self._entries)

    def as_json(self, actor_key: str) -> list[dict[str, object]]:
        """Render entries; `actor_key` is "from" for PagerDuty and "user" for Jira."""
        return [
            {
                "method": e.method,
                "path": e.path,
                "query": e.query,
                "status": e.status,
                actor_key: e.actor,
                "at": e.at,
            }
            for e in self._entries
        ]


class RequestLogMiddleware:
    """Outermost middleware: sees the final status, including faults, 401s and 429s."""

    def __init__(
        self, app: ASGIApp, *, log: RequestLog, actor: Callable[[Scope], str | None]
    ) -> None:
        self.app = app
        self.log = log
        self.actor = actor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_admin_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        state = scope_state(scope)  # inner layers (auth) write the acting user into this dict
        recorded = False

        def record(status: int) -> None:
            # Once, when the answer is decided: a test that saw the outcome of a call whose
            # answer is still held back (or was never delivered) finds it here already.
            nonlocal recorded
            if recorded:
                return
            recorded = True
            self.log.record(
                RecordedRequest(
                    method=scope["method"],
                    path=scope["path"],
                    query=bytes(scope.get("query_string", b"")).decode("latin-1"),
                    status=status,
                    actor=self.actor(scope),
                    at=datetime.now(UTC).isoformat(),
                )
            )

        state[ANSWER_DECIDED] = record

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                record(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            record(500)  # no answer at all (the handler failed, or the client went away first)
