"""`--dist loadgroup` keeps each xdist_group on one worker (see support.xdist_groups), and
spreads the other tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

SUPPORT = Path(__file__).resolve().parent

GROUPED = """
import pytest

pytestmark = pytest.mark.xdist_group("shared")

def test_a(): pass
def test_b(): pass
def test_c(): pass
def test_d(): pass
"""

LOOSE = "\n".join(f"def test_{n}(): pass" for n in range(8))


def test_grouped_tests_run_on_one_worker_the_others_anywhere(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "from xdist_groups import (  # noqa: F401\n"
        "    pytest_collection_modifyitems, pytest_configure, pytest_configure_node,\n"
        "    pytest_unconfigure, pytest_xdist_make_scheduler,\n"
        ")\n"
    )
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    (tmp_path / "test_loose.py").write_text(LOOSE)
    # Only xdist among the installed plugins: the inner run starts in a fraction of the time.
    pytest = [sys.executable, "-m", "pytest", "-p", "xdist.plugin", "-p", "no:cacheprovider"]
    where = ["-c", os.devnull, "--rootdir", str(tmp_path)]
    run = subprocess.run(
        [*pytest, *where, "-n", "2", "--dist", "loadgroup", "-v"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(SUPPORT), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    ran = re.findall(r"\[(gw\d+)\] .*PASSED (test_\w+)\.py::(test_\w+)", run.stdout)
    assert len(ran) == 12, run.stdout
    grouped_workers = {worker for worker, module, _ in ran if module == "test_grouped"}
    assert len(grouped_workers) == 1, ran
    assert len({worker for worker, _, _ in ran}) > 1, ran  # the others were spread
