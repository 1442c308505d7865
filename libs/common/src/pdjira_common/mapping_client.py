"""Asking the mapping service (the single writer of links) over NATS request/reply."""

from __future__ import annotations

import msgspec
from faststream.nats import NatsBroker
from nats.errors import NoRespondersError

from pdjira_common.contracts import IncidentRef, Link, LinkQuery, LinkReply, encode
from pdjira_common.subjects import LINK_LOOKUP

__all__ = ["MappingUnavailable", "link_of_incident", "link_of_issue", "lookup_link"]

_reply_decoder = msgspec.json.Decoder(LinkReply)


class MappingUnavailable(Exception):
    """The mapping service did not answer in time: retry later, never assume 'no link'."""


async def lookup_link(broker: NatsBroker, query: LinkQuery, *, timeout: float = 2.0) -> Link | None:
    try:
        response = await broker.request(encode(query), LINK_LOOKUP, timeout=timeout)
    except TimeoutError as exc:
        raise MappingUnavailable(f"mapping did not answer {LINK_LOOKUP} in {timeout}s") from exc
    except NoRespondersError as exc:
        raise MappingUnavailable("no mapping service is running") from exc
    body = response.body
    if not body:
        raise MappingUnavailable("mapping answered with an empty reply")
    return _reply_decoder.decode(body).link


async def link_of_incident(broker: NatsBroker, incident: IncidentRef) -> Link | None:
    return await lookup_link(broker, LinkQuery(incident=incident))


async def link_of_issue(broker: NatsBroker, instance: str, issue_id: str) -> Link | None:
    return await lookup_link(broker, LinkQuery(instance=instance, issue_id=issue_id))
