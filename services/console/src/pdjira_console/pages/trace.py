"""Trace: search by incident, issue key, entity or event (correlation) id and see the timeline
from the webhook received to the vendor write done, with why each rule item did or did not act.

It asks the mapping service's ``GET /admin/v1/trace/{ref}`` (the same
:func:`pdjira_common.trace.collect` as ``pdjira trace``) rather than reading the streams
itself: the trace is assembled in one place, its "not found / ambiguous" answers are already
messages for a person, and the console's NATS user needs no right to create consumers on the
EVENTS, AUDIT and OUTCOMES streams.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

import msgspec
from pdjira_common.trace import Trace, TraceStep
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pdjira_console.context import AdminApiError, Console, NavEntry

__all__ = ["NAV", "Detail", "StepView", "detail_of", "routes", "step_view"]

NAV = NavEntry("Trace", "/trace")
MAX_HOURS = 14 * 24.0  # the AUDIT stream's retention
_CALL = re.compile(
    r"^(?P<method>[A-Z]+) (?P<path>\S+) -> (?P<answer>.+?) in (?P<ms>[0-9.e+-]+) ms$"
)
_KINDS = {
    "received": "Received",
    "decided": "Decided",
    "write": "Vendor write",
    "dead-letter": "Dead letter",
}


@dataclass(frozen=True, slots=True)
class Detail:
    text: str
    verdict: str = ""  # "matched" / "not matched" for a rule item's verdict
    status: str = ""  # a vendor call's answer ("201", "no answer (...)")
    ok: bool | None = None  # a vendor call answered 2xx


@dataclass(frozen=True, slots=True)
class StepView:
    step: TraceStep
    kind: str
    details: tuple[Detail, ...]


def detail_of(kind: str, text: str) -> Detail:
    """One detail line of a step, with a rule verdict or a vendor call's answer picked out."""
    if kind == "decided" and text[:2] in ("+ ", "- "):
        return Detail(text[2:], verdict="matched" if text[0] == "+" else "not matched")
    call = _CALL.match(text) if kind == "write" else None
    if call is not None:
        answer = call["answer"]
        return Detail(text, status=answer, ok=answer.isdigit() and answer.startswith("2"))
    return Detail(text)


def step_view(step: TraceStep) -> StepView:
    return StepView(
        step,
        _KINDS.get(step.kind, step.kind),
        tuple(detail_of(step.kind, d) for d in step.details),
    )


def _hours(raw: str) -> float | None:
    try:
        return min(max(float(raw), 0.0), MAX_HOURS)
    except ValueError:
        return None


def routes(console: Console) -> list[Route]:
    async def page(request: Request) -> Response:
        query = request.query_params
        form = {k: query.get(k, "").strip() for k in ("ref", "instance", "account", "since")}
        error = ""
        trace: Trace | None = None
        steps: list[StepView] = []
        if form["ref"]:
            params = {k: form[k] for k in ("instance", "account") if form[k]}
            if form["since"]:
                hours = _hours(form["since"])
                if hours is None:
                    error = f"Hours to look back must be a number; got {form['since']!r}."
                else:
                    params["since"] = f"{hours:g}"
            if not error:
                try:
                    found = await console.get_json(
                        console.mapping,
                        f"/admin/v1/trace/{quote(form['ref'], safe='')}",
                        params=params,
                    )
                    trace = msgspec.convert(found, Trace)
                    steps = [step_view(s) for s in trace.steps]
                except AdminApiError as exc:
                    error = _message(exc)
                except msgspec.ValidationError as exc:
                    error = f"the mapping service answered a trace this console can't read ({exc})"
        return console.render(
            request, "trace.html", form=form, trace=trace, steps=steps, error=error
        )

    return [Route("/trace", page, methods=["GET"])]


def _message(exc: AdminApiError) -> str:
    """Not found / ambiguous are answers for the person, not failures of the console."""
    if exc.status in (404, 409) and ": " in exc.message:
        detail = exc.message.split(": ", 1)[1]
        if exc.status == 409:
            return detail + " (fill in the Jira instance or PagerDuty account below)"
        return detail
    return exc.message
