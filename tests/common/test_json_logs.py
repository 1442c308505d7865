"""Every line a service writes is one JSON object (``timestamp``, ``level``, ``event``,
``service``): ours, and what libraries log through ``logging`` with handlers of their own
(FastStream's coloured lines, uvicorn's error logger, nats-py), warnings, and the traceback of
an exception that ends the process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

PROGRAM = textwrap.dedent(
    """
    import logging, warnings
    import faststream  # its "faststream" logger comes with a coloured handler of its own
    from faststream._internal.logger import logger as faststream_logger
    from pdjira_common.logging import configure_logging, get_logger

    configure_logging("svc", LEVEL)
    get_logger("ours").info("our_line", n=1)
    faststream_logger.warning("FastStream app starting...")
    logging.getLogger("uvicorn.error").error("Exception in ASGI application")
    logging.getLogger("nats.aio.client").warning("nats: encountered error")
    try:
        1 / 0
    except ZeroDivisionError:
        logging.getLogger("asyncio").exception("Task exception was never retrieved")
    warnings.warn("something is deprecated", DeprecationWarning, stacklevel=1)
    raise RuntimeError("the end")
    """
)


@pytest.mark.parametrize("level", ["info", "debug"])
def test_every_line_is_json_with_the_common_keys(level: str) -> None:
    program = PROGRAM.replace("LEVEL", repr(level))
    result = subprocess.run(
        [sys.executable, "-W", "always", "-c", program],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1  # the uncaught exception still ends the process
    output = result.stdout + result.stderr
    assert "\x1b[" not in output  # no colours
    lines = output.splitlines()
    records = []
    for line in lines:
        record = json.loads(line)  # fails the test on any plain-text line
        assert {"timestamp", "level", "event", "service"} <= record.keys(), line
        assert record["service"] == "svc"
        records.append(record)
    events = [r["event"] for r in records]
    assert "our_line" in events
    assert "FastStream app starting..." in events
    assert "Exception in ASGI application" in events
    assert "nats: encountered error" in events
    [task] = [r for r in records if r["event"] == "Task exception was never retrieved"]
    assert "ZeroDivisionError" in task["exception"]
    assert any("something is deprecated" in e for e in events)
    [uncaught] = [r for r in records if r["event"] == "uncaught_exception"]
    assert uncaught["level"] == "critical"
    assert "RuntimeError: the end" in uncaught["exception"]
