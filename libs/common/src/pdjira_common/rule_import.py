"""Rules exported from PagerDuty (or listed by our rules admin API) as the wrappers to POST to
``/rules``: shared by ``pdjira rules import`` and the console's Rules page."""

from __future__ import annotations

from typing import Any

__all__ = ["EXTENSION_KEYS", "import_wrapper", "wrapper_of"]

# Wrapper fields our API's listed rules carry in their ``pdjira`` extension object.
EXTENSION_KEYS = (
    "account",
    "instance",
    "priority_map",
    "field_templates",
    "resolution",
    "sync_priority",
    "urgency_map",
)


def wrapper_of(data: Any) -> dict[str, Any]:
    """``{"rule": {...}, ...}`` as is (a copy); a bare rule ``{"name", "config"}`` wrapped."""
    if isinstance(data, dict) and "rule" in data:
        return dict(data)
    return {"rule": data}


def import_wrapper(
    wrapper: dict[str, Any], account: str | None = None, instance: str | None = None
) -> dict[str, Any]:
    """The wrapper to POST: the export's rule as is (our ``pdjira`` extension, when the rule was
    listed by our API, fills account/instance/...); ``account``/``instance`` given win."""
    wrapper = dict(wrapper)
    rule = wrapper.get("rule")
    if isinstance(rule, dict):
        ext = rule.get("pdjira")
        if isinstance(ext, dict):
            for key in EXTENSION_KEYS:
                if key in ext and key not in wrapper:
                    wrapper[key] = ext[key]
    for key, given in (("account", account), ("instance", instance)):
        if given is not None:
            wrapper[key] = given
    return wrapper
