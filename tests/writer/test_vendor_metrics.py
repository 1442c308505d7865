"""The writers' metrics: vendor calls by target / operation (a route template, never an id) /
status with their latency, each target's rate budget, and the end-to-end sync latency measured
from the event's store time the command carries. Names follow Prometheus conventions."""

from __future__ import annotations

import re

import httpx
import pytest
from nats.aio.msg import Msg
from pdjira_common.headers import EVENT_STORED_AT_HEADER, MSG_ID_HEADER
from pdjira_common.metric_labels import OTHER
from pdjira_writer.commands import sync_latency
from pdjira_writer.metrics import WriterMetrics
from pdjira_writer.vendor_metrics import MAX_OPERATIONS, VendorCallMetrics, operation_of
from prometheus_client import CollectorRegistry
from support.virtual_time import Sent, VirtualClock

from .test_vendor_http import SPEC, Item, answers, http

_NAME = re.compile(r"^pdjira_[a-z0-9_]+$")
_UNITS = ("_seconds", "_messages", "_requests_per_second", "_timestamp_seconds")


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    [
        ("POST", "/rest/api/2/issue", "post_issue"),
        ("POST", "/rest/api/2/issue/OPS-12/transitions", "post_issue_id_transitions"),
        ("GET", "/rest/api/2/issue/10042/transitions?expand=x", "get_issue_id_transitions"),
        ("PUT", "/rest/api/2/issue/OPS-12", "put_issue_id"),
        ("POST", "/rest/api/2/issue/OPS-12/comment", "post_issue_id_comment"),
        (
            "GET",
            "/rest/api/2/issue/createmeta/OPS/issuetypes",
            "get_issue_createmeta_id_issuetypes",
        ),
        ("GET", "/rest/api/latest/myself", "get_myself"),
        ("PUT", "/incidents/PABC123", "put_incidents_id"),
        ("POST", "/incidents/Q1ZX9/notes", "post_incidents_id_notes"),
        ("GET", "/users?query=ann@example.com", "get_users"),
        ("GET", "/rest/api/2/field/customfield_10010", "get_field_id"),
    ],
)
def test_the_operation_is_the_route_template(method: str, path: str, operation: str) -> None:
    assert operation_of(method, path) == operation


def test_operations_are_bounded() -> None:
    metrics = VendorCallMetrics(CollectorRegistry(), vendor="acme")
    names = {
        metrics.operation("GET", f"/x{chr(97 + i % 26)}/{'y' * (i // 26 + 1)}") for i in range(300)
    }
    assert OTHER in names
    assert len(names) == MAX_OPERATIONS + 1


async def test_a_call_is_observed_by_target_operation_and_status() -> None:
    sent: list[Sent] = []
    metrics = WriterMetrics.create(SPEC)
    async with VirtualClock() as clock:
        vendor = http(
            clock,
            answers(httpx.Response(404, content=b"gone"), httpx.Response(200, json={"id": "7"})),
            sent,
            vendor_metrics=metrics.vendor_calls,
        )
        with pytest.raises(Exception, match="404"):
            await vendor.get("/items/ITEM-7", Item, what="get item 7")
        await vendor.get("/items/ITEM-8", Item, what="get item 8")
    sample = metrics.registry.get_sample_value
    for status in ("404", "200"):
        labels = {"vendor": "acme", "target": "t1", "operation": "get_items_id", "status": status}
        assert sample("pdjira_vendor_request_duration_seconds_count", labels) == 1.0
    # The budget: 10 requests per second configured (one replica), read at scrape time.
    budget = {"vendor": "acme", "target": "t1"}
    assert sample("pdjira_vendor_rate_limit_requests_per_second", budget) == 10.0
    assert sample("pdjira_vendor_rate_limit_configured_requests_per_second", budget) == 10.0
    exposed = {s.labels.get("operation") for m in metrics.registry.collect() for s in m.samples}
    assert not any(o and ("ITEM" in o or "/" in o) for o in exposed)


def _msg(headers: dict[str, str] | None) -> Msg:
    return Msg(None, subject="commands.jira.dc1.P1", data=b"", headers=headers)  # type: ignore[arg-type]


def test_the_sync_latency_is_measured_from_the_event_store_time() -> None:
    assert sync_latency(_msg({EVENT_STORED_AT_HEADER: "1000.250"}), 1002.0) == pytest.approx(1.75)
    # No header (an older rules), a replayed dead letter, a garbled value: not measured.
    assert sync_latency(_msg(None), 1002.0) is None
    replayed = {EVENT_STORED_AT_HEADER: "1000", MSG_ID_HEADER: "replay:abc"}
    assert sync_latency(_msg(replayed), 1002.0) is None
    assert sync_latency(_msg({EVENT_STORED_AT_HEADER: "soon"}), 1002.0) is None
    # A clock a little behind the server's never makes a negative latency.
    assert sync_latency(_msg({EVENT_STORED_AT_HEADER: "1003"}), 1002.0) == 0.0


def test_writer_metric_names_follow_prometheus_conventions() -> None:
    metrics = WriterMetrics.create(SPEC)
    metrics.sync_seconds.labels("CreateIssue").observe(1.0)
    metrics.delivery.retried("acme-writer", waiting=True)
    metrics.delivery.dead_lettered("acme-writer")
    for family in metrics.registry.collect():
        if family.name.startswith("acme_"):
            continue  # the made-up vendor's request counter (pdjira_<vendor>_requests in real ones)
        assert _NAME.match(family.name), family.name
        if family.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in family.samples)
        elif family.type in ("histogram", "gauge"):
            assert family.name.endswith(_UNITS), family.name
    labels = {"consumer": "acme-writer", "kind": "wait"}
    assert metrics.registry.get_sample_value("pdjira_retries_total", labels) == 1.0
    dead = {"consumer": "acme-writer"}
    assert metrics.registry.get_sample_value("pdjira_dead_letters_total", dead) == 1.0
