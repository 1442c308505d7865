"""Applying a command the same way in every writer: route it to its method, turn a refusal into
a permanent failure, say why a write was skipped, find the target's client."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypedDict, TypeVar

from pdjira_common.contracts import Command, CommandFailed, IncidentRef, Outcome, WriteSkipped
from pdjira_common.logging import get_logger
from pdjira_common.requests import EchoMark, System

from pdjira_writer.errors import Refused, unknown_target
from pdjira_writer.spec import WriterSpec

__all__ = [
    "Answering",
    "CommandRoutes",
    "answering",
    "client_of",
    "echo_mark",
    "failed",
    "skipped",
]

C = TypeVar("C")
Method = TypeVar("Method", bound=Callable[..., Awaitable[Outcome]])
_log = get_logger(__name__)


class CommandRoutes:
    """Which method of a writer applies which command: ``@ROUTES.on(CreateIssue)`` above the
    method, ``await ROUTES.apply(self, command)`` in the writer's ``handle``."""

    def __init__(self, spec: WriterSpec) -> None:
        self.spec = spec
        self._methods: dict[type[Any], Callable[[Any, Any], Awaitable[Outcome]]] = {}

    def on(self, kind: type[Command]) -> Callable[[Method], Method]:
        def register(method: Method) -> Method:
            self._methods[kind] = method
            return method

        return register

    async def apply(self, writer: object, command: Command) -> Outcome:
        """The outcome of ``command`` by its method; raises Retryable or WaitForPrerequisite to
        be tried again later. A refusal is the permanent failure it is."""
        method = self._methods.get(type(command))
        try:
            if method is None:
                raise Refused(
                    f"{type(command).__name__} is not a {self.spec.vendor.name} command; the "
                    f"{self.spec.name} received it on a {self.spec.commands.removesuffix('.>')} "
                    "subject: fix the publisher's subject"
                )
            return await method(writer, command)
        except Refused as exc:
            return failed(command, exc.reason, exc.status_code)


class _AboutAnIncident(Protocol):
    @property
    def command_id(self) -> str: ...

    @property
    def correlation_id(self) -> str: ...

    @property
    def incident(self) -> IncidentRef: ...


class Answering(TypedDict):
    """What an outcome repeats of the command about an incident it answers."""

    command_id: str
    correlation_id: str
    incident: IncidentRef


def answering(command: _AboutAnIncident) -> Answering:
    """``Outcome(**answering(command), ...)``: the outcome's ids and incident, the command's."""
    return Answering(
        command_id=command.command_id,
        correlation_id=command.correlation_id,
        incident=command.incident,
    )


def failed(command: Command, reason: str, status_code: int | None = None) -> CommandFailed:
    """The command fails for good (nothing retries it): ``reason`` says what to fix."""
    _log.error("command_failed", reason=reason, status_code=status_code)
    return CommandFailed(
        command_id=command.command_id,
        correlation_id=command.correlation_id,
        reason=reason,
        permanent=True,
        status_code=status_code,
    )


def skipped(command: Command, reason: str) -> WriteSkipped:
    """Nothing written, on purpose (the target already is as wanted, or a newer change won)."""
    _log.info("write_skipped", reason=reason)
    return WriteSkipped(
        command_id=command.command_id, correlation_id=command.correlation_id, reason=reason
    )


def client_of(clients: Mapping[str, C], target: str, spec: WriterSpec) -> C:
    """The client of a configured target; a command naming another one fails with a hint."""
    client = clients.get(target)
    if client is None:
        vendor = spec.vendor
        raise Refused(
            f"{unknown_target(vendor.label(target), sorted(clients) or 'none')}; add it to "
            f"{vendor.config_key} in the config or fix the rule that names it"
        )
    return client


def echo_mark(system: System, target: str, entity_id: str, field: str, value: str) -> EchoMark:
    """What mapping records before a write, so that the webhook the write causes is known as
    our own echo: ``entity`` is ``<system>:<target>:<id>``, as the webhook's normalizer names it."""
    return EchoMark(
        system=system, entity=f"{system}:{target}:{entity_id}", field=field, value=value
    )
