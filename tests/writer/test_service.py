"""The writer service's entry point and wiring names, the same for every writer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pdjira_common.config import parse_config
from pdjira_jira_writer.main import create_service as create_jira_writer
from pdjira_pd_writer.main import create_service as create_pd_writer
from pdjira_writer.metrics import WriterMetrics
from pdjira_writer.service import listener, run


def test_a_bad_config_exits_2_naming_the_service_and_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "pdjira.yaml"
    config.write_text("writers: {replicas: 0}\n")
    with pytest.raises(SystemExit) as exited:
        run(create_jira_writer, ["--config", str(config)])
    assert exited.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    record = json.loads(line)  # a JSON line like every other the service writes
    assert (record["service"], record["level"], record["event"]) == (
        "jira-writer",
        "error",
        "config_invalid",
    )
    assert record["error"].startswith("config error at $.writers:")
    assert "pdjira config check" in record["fix"]


def test_the_config_file_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        run(create_pd_writer, [])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "usage: python -m pdjira_pd_writer" in err
    assert "--config" in err


def test_each_writer_listens_where_the_config_says_and_counts_under_its_names() -> None:
    config = parse_config({"listen": {"jira_writer": {"port": 9102}, "pd_writer": {"port": 9103}}})
    assert listener(config, create_jira_writer.spec).port == 9102
    assert listener(config, create_pd_writer.spec).port == 9103
    jira = WriterMetrics.create(create_jira_writer.spec)
    pd = WriterMetrics.create(create_pd_writer.spec)
    jira.requests.labels("dc1", "GET", "200").inc()
    pd.outcomes.labels("NoteAdded").inc()
    labels = {"instance": "dc1", "method": "GET", "status": "200"}
    assert jira.registry.get_sample_value("pdjira_jira_requests_total", labels) == 1.0
    assert (
        pd.registry.get_sample_value("pdjira_pd_writer_outcomes_total", {"outcome": "NoteAdded"})
        == 1.0
    )
