"""``--dist loadgroup`` that honours ``@pytest.mark.xdist_group`` again.

pytest-xdist 3.8 groups tests by appending ``@<group>`` to ``item._nodeid`` on the workers;
pytest 9.2 derives ``nodeid`` from ``item._id``, so that write is lost and grouped tests are
spread over all workers like any others: each worker then starts its own copy of an expensive
module- or session-scoped fixture (an end-to-end stack: seven processes, ~6 s of CPU).

Here the workers tell the controller the groups of their items through a file each (the
controller only sees node ids), and the controller's scheduler reads them when it splits the
collection into work units: a group is one unit (one worker), every other test its own unit.
Hooked up in ``tests/conftest.py``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

__all__ = [
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_configure_node",
    "pytest_unconfigure",
    "pytest_xdist_make_scheduler",
]

_INPUT_KEY = "pdjira_xdist_groups_dir"
_DIR = pytest.StashKey[Path]()


def group_of(item: pytest.Item) -> str | None:
    """The item's ``xdist_group`` (xdist's own rule: the closest mark's first argument)."""
    mark = item.get_closest_marker("xdist_group")
    if mark is None:
        return None
    return str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))


def _loadgroup(config: pytest.Config) -> bool:
    return bool(config.getoption("dist", default="no") == "loadgroup")


class MarkedGroupScheduling(LoadScopeScheduling):
    """xdist's LoadGroupScheduling, with the groups read from the workers' files."""

    def __init__(self, config: pytest.Config, log: Any, groups_dir: Path) -> None:
        super().__init__(config, log)
        self._groups_dir = groups_dir
        self._groups: dict[str, str] | None = None

    def _split_scope(self, nodeid: str) -> str:
        if self._groups is None:  # first called once every worker has finished collecting
            self._groups = {}
            for report in sorted(self._groups_dir.glob("*.json")):
                self._groups.update(json.loads(report.read_text()))
        group = self._groups.get(nodeid)
        return f"xdist_group {group}" if group is not None else nodeid


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and _loadgroup(config):
        config.stash[_DIR] = Path(tempfile.mkdtemp(prefix="pdjira-xdist-groups-"))


def pytest_unconfigure(config: pytest.Config) -> None:
    where = config.stash.get(_DIR, None)
    if where is not None:
        shutil.rmtree(where, ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    where = node.config.stash.get(_DIR, None)
    if where is not None:
        node.workerinput[_INPUT_KEY] = str(where)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    where = config.stash.get(_DIR, None)
    return MarkedGroupScheduling(config, log, where) if where is not None else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    workerinput: dict[str, Any] = getattr(config, "workerinput", {})
    where = workerinput.get(_INPUT_KEY)
    if where is None:
        return
    groups = {item.nodeid: group for item in items if (group := group_of(item)) is not None}
    target = Path(where) / f"{workerinput['workerid']}.json"
    partial = target.with_suffix(".tmp")
    partial.write_text(json.dumps(groups))
    partial.replace(target)  # the controller never reads half a file
