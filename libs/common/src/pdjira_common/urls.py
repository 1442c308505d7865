"""URLs as they may be shown: without the credentials they can carry."""

from __future__ import annotations

import re

__all__ = ["redact_url"]

# scheme://userinfo@  (userinfo: anything up to the last '@' before the host part)
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s,]*)@")


def redact_url(url: str) -> str:
    """``url`` with its user info (``user:password@`` or ``token@``) shown as ``***@``:
    ``nats://user:pass@host:4222`` -> ``nats://***@host:4222``. Also for a comma-separated list
    of URLs (NATS's server list), or any text holding URLs; a URL without user info is returned
    as it is."""
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}***@", url)
