"""The layering contracts `make lint` checks (import-linter, `[tool.importlinter]` in
pyproject.toml): the real tree keeps them, and a tree that breaches one is refused, naming it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _contracts() -> dict[str, object]:
    config: dict[str, object] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"][
        "importlinter"
    ]
    return config


def _run(config_dir: Path, python_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if python_path is not None:
        env["PYTHONPATH"] = str(python_path)  # ahead of the installed packages
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(config_dir / "pyproject.toml")],
        capture_output=True,
        text=True,
        env=env,
        cwd=config_dir,
        timeout=120,
        check=False,
    )


def _tree(tmp_path: Path, breach: tuple[str, str] | None) -> Path:
    """Empty stand-ins for every root package (and the dev stack's modules the contracts name);
    ``breach``: (module, the import it wrongly makes)."""
    packages = tmp_path / "packages"
    for root in _contracts()["root_packages"]:  # type: ignore[attr-defined]
        (packages / root).mkdir(parents=True)
        (packages / root / "__init__.py").write_text("")
    for name in ("bench", "stack", "demo"):
        (packages / "pdjira_devstack" / f"{name}.py").write_text("")
    # What `pdjira dev up` may use, as the real CLI does.
    (packages / "pdjira_cli" / "dev_cmd.py").write_text(
        "import pdjira_devstack.demo\nimport pdjira_devstack.stack\n"
    )
    if breach is not None:
        module, imported = breach
        (packages / module.replace(".", "/")).with_suffix(".py").write_text(f"import {imported}\n")
    return packages


def _config(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_repository_keeps_every_contract() -> None:
    result = _run(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(_contracts()['contracts'])} kept, 0 broken" in result.stdout  # type: ignore[arg-type]


def test_a_clean_stand_in_tree_keeps_every_contract(tmp_path: Path) -> None:
    result = _run(_config(tmp_path), _tree(tmp_path, None))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("breach", "contract"),
    [
        (("pdjira_rules.links", "pdjira_mapping"), "A service never imports another service"),
        (("pdjira_common.helpers", "pdjira_rules"), "Libraries never import services or apps"),
        (("pdjira_writer.http", "pdjira_cli"), "Libraries never import services or apps"),
        (
            ("pdjira_ingest.fake", "pdjira_simulators"),
            "Nothing in production imports the simulators",
        ),
        (
            ("pdjira_writer.stack", "pdjira_devstack"),
            "Services and shared libraries never import the dev stack",
        ),
        (
            ("pdjira_cli.perf", "pdjira_devstack.bench"),
            "The CLI uses only the dev stack's runner and demo (pdjira dev up)",
        ),
    ],
)
def test_a_breach_is_refused_naming_the_contract(
    tmp_path: Path, breach: tuple[str, str], contract: str
) -> None:
    result = _run(_config(tmp_path), _tree(tmp_path, breach))
    assert result.returncode != 0, result.stdout
    assert f"{contract} BROKEN" in result.stdout, result.stdout
    assert "1 broken" in result.stdout, result.stdout
