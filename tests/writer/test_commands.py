"""The kernel's lane handler: a command that does not decode is unprocessable (dead-lettered at
once by the lanes), with what to do about it."""

from __future__ import annotations

import pytest
from pdjira_common.retry import Unprocessable
from pdjira_writer.commands import decode
from pdjira_writer.spec import Vendor, WriterSpec

SPEC = WriterSpec(
    name="pd-writer",
    commands="commands.pd.>",
    vendor=Vendor(name="PagerDuty", target="account", config_key="pagerduty_accounts", metric="m"),
)


@pytest.mark.parametrize(
    "data", [b'{"type": "pd.snooze_incident.v9"}', b"\xff not json", b'{"type": 5}']
)
def test_a_command_that_does_not_decode_says_to_upgrade_and_replay(data: bytes) -> None:
    with pytest.raises(Unprocessable) as caught:
        decode(data, "commands.pd.acme.PX", SPEC)
    reason = caught.value.reason
    assert reason.startswith("cannot decode the command on commands.pd.acme.PX: ")
    assert reason.endswith(
        "if it is a new kind of command, upgrade the pd-writer and replay it from the DLQ"
    )
