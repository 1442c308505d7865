"""Dead letters: the DLQ stream's letters (id, when, stream/consumer, subject, attempts, reason,
correlation id linking to the trace) and replaying one or all of them (the same code as
``pdjira dlq replay``: :mod:`pdjira_common.dead_letters`, over the console's NATS connection)."""

from __future__ import annotations

from dataclasses import dataclass

from nats.js.errors import NotFoundError
from pdjira_common.contracts import DeadLetter
from pdjira_common.dead_letters import list_letters, replay_letters
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pdjira_console.context import AdminApiError, Console, NavEntry

__all__ = ["NAV", "Letter", "replay_message", "routes"]

NAV = NavEntry("Dead letters", "/dead-letters")
PATH = "/dead-letters"
NO_STREAM = "No DLQ stream yet: it is created when a pdjira service starts."


@dataclass(frozen=True, slots=True)
class Letter:
    id: int
    letter: DeadLetter

    @property
    def when(self) -> str:
        """The failure time to the second, for the table (the full time is its ``datetime``)."""
        return self.letter.failed_at[:19].replace("T", " ")

    @property
    def reason(self) -> str:
        return " ".join(self.letter.reason.split())


def replay_message(lines: list[str]) -> tuple[str, str]:
    """(notice, error) flash texts for what :func:`replay_letters` said."""
    missing = [line for line in lines if "no such dead letter" in line]
    done = [line for line in lines if line not in missing]
    notice = ("Replayed " + "; ".join(done)) if done else ""
    error = ""
    if missing:
        error = (
            "; ".join(line.split(" (", 1)[0] for line in missing)
            + ": already replayed or removed (the list below is current)"
        )
    if not lines:
        notice = "No dead letters to replay"
    return notice, error


def routes(console: Console) -> list[Route]:
    async def page(request: Request) -> Response:
        error = ""
        letters: list[Letter] = []
        try:
            letters = [Letter(seq, letter) for seq, letter in await list_letters(console.js)]
        except NotFoundError:
            error = NO_STREAM
        except AdminApiError as exc:
            error = exc.message
        except Exception as exc:
            error = f"NATS could not be read ({type(exc).__name__}): is nats.url right?"
        return console.render(request, "dead_letters.html", letters=letters, error=error)

    async def replay(ids: list[int] | None, request: Request) -> Response:
        try:
            lines = await replay_letters(console.js, ids)
        except NotFoundError:
            return console.redirect(request, PATH, error=NO_STREAM)
        except AdminApiError as exc:
            return console.redirect(request, PATH, error=exc.message)
        except Exception as exc:
            return console.redirect(
                request,
                PATH,
                error=f"the replay failed ({type(exc).__name__}): is NATS reachable? "
                "The list below shows what is still waiting.",
            )
        notice, error = replay_message(lines)
        return console.redirect(request, PATH, notice=notice, error=error)

    async def replay_one(request: Request) -> Response:
        raw = request.path_params["letter_id"]
        if not raw.isdigit():
            return console.redirect(
                request, PATH, error=f"{raw!r} is not a dead letter id: pick one from the list"
            )
        return await replay([int(raw)], request)

    async def replay_all(request: Request) -> Response:
        return await replay(None, request)

    return [
        Route(PATH, page, methods=["GET"]),
        Route(PATH + "/replay-all", replay_all, methods=["POST"]),
        Route(PATH + "/{letter_id}/replay", replay_one, methods=["POST"]),
    ]
