"""One call to a vendor with a person's own token ("who am I"), outside the writer's client.

The token is the person's, not the integration's: it is used for this one request on a
client of its own (so a refusal never counts against, nor pauses, the integration's budget
and credentials), then dropped: never stored, never logged, never in an error message.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from pdjira_writer.errors import transport_failure
from pdjira_writer.vendor_http import HttpOptions

__all__ = ["get_with_token"]


async def get_with_token(
    base_url: str,
    path: str,
    headers: Mapping[str, str],
    options: HttpOptions,
    *,
    what: str,
    target: str,
) -> httpx.Response:
    """``GET path`` with ``headers`` (carrying the token); raises Retryable when the vendor
    cannot be reached (the answer, whatever its status, is the caller's to read)."""
    http = httpx.AsyncClient(
        base_url=base_url,
        headers=dict(headers),
        timeout=httpx.Timeout(options.timeout),
        transport=options.transport,
    )
    try:
        return await http.get(path)
    except httpx.HTTPError as exc:
        raise transport_failure(exc, what=what, target=target) from exc
    finally:
        if options.transport is None:  # a given transport is shared: its owner closes it
            await http.aclose()
