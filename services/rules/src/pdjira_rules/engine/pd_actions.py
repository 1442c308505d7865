"""The ``pd_*`` actions of an item (enabled ones only): the status, priority and responders
to give the PagerDuty incident, and a note per action for the verdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pdjira_common.contracts import IncidentStatus

from pdjira_rules.rule_model import PriorityReference, RuleItem, action_param, enabled_actions

__all__ = ["PdChanges", "pd_changes"]

_STATUSES: Final[dict[str, IncidentStatus]] = {
    "pd_acknowledge": "acknowledged",
    "pd_resolve": "resolved",
    # PagerDuty reopens a resolved incident when its status is set to "triggered" (REST
    # PUT /incidents/{id}); pd-writer does nothing when the incident is not resolved.
    "pd_reopen": "triggered",
}
# When one item asks for several statuses: resolving wins, then acknowledging, then reopening.
_PRECEDENCE: Final[dict[IncidentStatus | None, int]] = {
    None: 0,
    "triggered": 1,
    "acknowledged": 2,
    "resolved": 3,
}


@dataclass(frozen=True, kw_only=True)
class PdChanges:
    status: IncidentStatus | None = None  # resolved wins over acknowledged over reopen
    priority: str | None = None  # name (summary/label) or id
    add_responders: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def sets_fields(self) -> bool:
        return bool(self.priority or self.add_responders)


def pd_changes(item: RuleItem) -> PdChanges:
    """The item's enabled pd actions. Raises ValueError on a bad param (refused at load)."""
    status: IncidentStatus | None = None
    priority: str | None = None
    responders: list[str] = []
    notes: list[str] = []
    for key in enabled_actions(item):
        if not key.startswith("pd_"):
            continue  # jira_* actions are the other side's
        if key in _STATUSES:
            if _PRECEDENCE[_STATUSES[key]] > _PRECEDENCE[status]:
                status = _STATUSES[key]
            notes.append(key)
            continue
        if key not in item.actions_params:
            notes.append(f"{key}: no param, not applied")
            continue
        param = action_param(key, item.actions_params[key])
        if key == "pd_set_priority" and isinstance(param, PriorityReference):
            priority = param.summary or param.label or param.id
            notes.append(f"{key} {priority}")
        elif key == "pd_add_responders" and isinstance(param, list):
            ids = [u.id for u in param if getattr(u, "id", None)]
            responders.extend(i for i in ids if isinstance(i, str) and i not in responders)
            unnamed = len(param) - len(ids)
            extra = f" ({unnamed} without a user id left out)" if unnamed else ""
            notes.append(f"{key} [{', '.join(ids)}]{extra}")
        else:
            notes.append(f"{key}: no usable param, not applied")
    return PdChanges(
        status=status, priority=priority, add_responders=tuple(responders), notes=tuple(notes)
    )
