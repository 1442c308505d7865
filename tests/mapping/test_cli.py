"""``pdjira users ...`` and ``pdjira links ...`` against the mapping service as its own process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from nats.aio.client import Client
from pdjira_cli.main import main
from pdjira_common.contracts import IncidentRef, IssueLinked, IssueRef
from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.ports import free_port
from pdjira_devstack.process import ManagedProcess
from pdjira_devstack.waiting import wait_until
from support.services import service_process

from .test_admin import fake_writers, mapping_config
from .test_mapping_service import consumer_drained, publish_outcome

TOKEN = "cli-admin-token-1234"


async def cli(argv: list[str]) -> int:
    """The CLI in a thread: the fake writers it ends up asking answer from this test's loop."""
    return await asyncio.to_thread(main, argv)


@pytest.fixture
def config_file(tmp_path: Path, nats_server: NatsServer) -> Path:
    config = mapping_config(nats_server.url)
    config["mapping"] = {"admin_token": "${env:PDJIRA_ADMIN_TOKEN}"}
    config["listen"] = {"mapping": {"host": "127.0.0.1", "port": free_port()}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def mapping_process(
    config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ManagedProcess]:
    monkeypatch.setenv("PDJIRA_ADMIN_TOKEN", TOKEN)
    env = {"PDJIRA_ADMIN_TOKEN": TOKEN}
    with service_process("mapping", config_file, tmp_path, env=env) as process:
        yield process
    assert TOKEN not in (tmp_path / "mapping.log").read_text()


async def test_users_and_links_commands(
    nc: Client,
    config_file: Path,
    mapping_process: ManagedProcess,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await fake_writers(nc)
    cfg = ["--config", str(config_file)]

    assert await cli(["users", "link", "PAT", "jdoe", *cfg]) == 0
    assert "PAT <pat@example.com>  ->  jdoe (JIRAUSER2)" in capsys.readouterr().out
    assert await cli(["users", "list", *cfg]) == 0
    assert "acme/dc1  PAT" in capsys.readouterr().out
    assert await cli(["users", "link", "PAT", "ghost", *cfg]) == 2
    err = capsys.readouterr().err
    assert "mapping answered 422: Jira user 'ghost' not found on instance 'dc1'" in err
    assert await cli(["users", "unlink", "PAT", *cfg]) == 0
    capsys.readouterr()

    # PagerDuty's user CSV: extra columns ignored, a "Jira user" column added by the admin
    csv_file = tmp_path / "users.csv"
    csv_file.write_text(
        "ID,Name,Email,Role,Jira User\n"
        "PAT,Pat Oncall,pat@example.com,admin,\n"
        "PJO,Jo,jo@example.com,user,jdoe\n"
        "PGHOST,Ghost,ghost@example.com,user,jdoe\n"
    )
    assert await cli(["users", "import", str(csv_file), *cfg]) == 1  # one row failed
    out = capsys.readouterr().out
    assert "line 2: linked acme/dc1  PAT" in out  # by e-mail
    assert "line 3: linked acme/dc1  PJO" in out
    assert "line 4: PagerDuty user PGHOST not found" in out
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("Login,Team\nx,y\n")
    assert await cli(["users", "import", str(bad_csv), *cfg]) == 2
    assert "neither an 'id' nor an 'email' column (found: Login, Team)" in capsys.readouterr().err

    link = IssueLinked(
        command_id="c1",
        correlation_id="x",
        incident=IncidentRef(account="acme", incident_id="PINC1"),
        issue=IssueRef(instance="dc1", issue_id="10001", key="OPS-1"),
        created=True,
    )
    await publish_outcome(nc, link, "o1")
    await wait_until(lambda: consumer_drained(nc), timeout=10, what="the outcome recorded")
    assert await cli(["links", "show", "OPS-1", *cfg]) == 0
    assert "incident acme/PINC1" in capsys.readouterr().out
    assert await cli(["links", "export", *cfg]) == 0
    exported = capsys.readouterr()
    assert '"incident_id":"PINC1"' in exported.out
    assert await cli(["links", "unlink", "PINC1", *cfg]) == 0
    assert "unlinked incident PINC1 from issue OPS-1" in capsys.readouterr().out
    assert await cli(["links", "show", "PINC1", *cfg]) == 2
    assert "not linked" in capsys.readouterr().err


def test_without_a_token_in_the_config_the_cli_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(mapping_config("nats://127.0.0.1:1", token=None)))
    assert main(["users", "list", "--config", str(path)]) == 2
    assert "mapping.admin_token is not set" in capsys.readouterr().err


def test_unreachable_mapping(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.yaml"
    config = mapping_config("nats://127.0.0.1:1")
    config["listen"] = {"mapping": {"host": "127.0.0.1", "port": free_port()}}
    path.write_text(yaml.safe_dump(config))
    assert main(["links", "export", "--config", str(path)]) == 3
    assert "cannot reach the mapping service" in capsys.readouterr().err
