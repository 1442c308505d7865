"""Prometheus metrics of the rules service, in a registry per app."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from faststream.message import StreamMessage
from faststream.nats.prometheus.provider import BaseNatsMetricsSettingsProvider
from faststream.prometheus import ConsumeAttrs, PrometheusMiddleware
from faststream.response import PublishCommand
from nats.aio.msg import Msg
from pdjira_common.contracts import AuditRecord
from pdjira_common.delivery_metrics import DeliveryMetrics
from pdjira_common.metric_labels import BoundedLabel, subject_pattern
from prometheus_client import CollectorRegistry, Counter

__all__ = ["RulesMetrics", "broker_metrics_middleware"]

_ORIGINS = frozenset({"webhook", "reconcile"})
# Event types come from the vendors (PagerDuty has about twenty, Jira a handful); rules from the
# config and the admin API (max_rules per account). Past these, a value is counted as "other".
_EVENT_TYPES = 64
_RULES = 500
# The verdict series kept at hand (by rule name as decided and matched); cleared past this (rule
# names come and go over the admin API).
_VERDICT_CHILDREN = 4 * _RULES


class _BoundedSubjects(BaseNatsMetricsSettingsProvider[Any]):
    """FastStream's NATS metrics provider, labelling by subject pattern instead of the full
    subject (which carries incident / issue ids: a series per entity, for ever)."""

    __slots__ = ()

    def get_consume_attrs_from_message(self, msg: StreamMessage[Any]) -> ConsumeAttrs:
        raw = msg.raw_message
        batch = list(raw) if isinstance(raw, Sequence) else [raw]
        subject = batch[0].subject if batch and isinstance(batch[0], Msg) else ""
        return {
            "destination_name": subject_pattern(subject),
            "message_size": len(msg.body),
            "messages_count": len(batch),
        }

    def get_publish_destination_name_from_cmd(self, cmd: PublishCommand) -> str:
        return subject_pattern(cmd.destination)


def _bounded_provider(msg: Any) -> _BoundedSubjects | None:
    if msg is None or isinstance(msg, (Msg, Sequence)):
        return _BoundedSubjects()
    return None  # KV and object store watches: not measured (as FastStream's own provider)


def broker_metrics_middleware(registry: CollectorRegistry, app_name: str) -> PrometheusMiddleware:
    """FastStream's broker metrics (``faststream_*``: received, published, durations) with
    bounded labels: subjects as patterns (``commands.jira.dc1.>``), never with ids."""
    return PrometheusMiddleware(
        settings_provider_factory=_bounded_provider,
        registry=registry,
        app_name=app_name,
    )


@dataclass
class RulesMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self._event_type = BoundedLabel(_EVENT_TYPES)
        self._rule = BoundedLabel(_RULES)
        # (rule name, matched) -> its verdicts series: a record carries a verdict per rule x item
        # (500 rules: thousands), and looking a series up by its labels costs more than counting.
        self._verdict_series: dict[tuple[str, bool], Any] = {}
        self.decisions = Counter(
            "pdjira_rules_decisions",
            "Events decided, by event type and whether any rule produced a command.",
            ["event_type", "matched"],
            registry=self.registry,
        )
        self.verdicts = Counter(
            "pdjira_rules_verdicts",
            "Rule verdicts, by rule and matched/skipped.",
            ["rule", "matched"],
            registry=self.registry,
        )
        self.origins = Counter(
            "pdjira_rules_events",
            "Events decided, by origin: webhook, or reconcile (recovered by the poller).",
            ["origin"],
            registry=self.registry,
        )
        # The lanes' retries and dead letters (pdjira_retries_total, pdjira_dead_letters_total).
        self.delivery = DeliveryMetrics(self.registry)

    def observe(self, record: AuditRecord, *, origin: str = "webhook") -> None:
        # A label value per known origin only: the series stay bounded.
        self.origins.labels(origin=origin if origin in _ORIGINS else "other").inc()
        matched = "true" if record.command_ids else "false"
        event_type = self._event_type(record.event_type)
        self.decisions.labels(event_type=event_type, matched=matched).inc()
        # Counted per (rule, matched) first, in order of first appearance (the order in which
        # the bounded label admits rule names, as verdict by verdict).
        for key, count in Tally((v.rule, v.matched) for v in record.verdicts).items():
            self._verdict_of(*key).inc(count)

    def _verdict_of(self, rule: str, matched: bool) -> Any:
        # BoundedLabel maps a name the same way for good once it has seen it: the series of a
        # (rule, matched) can be kept.
        series = self._verdict_series.get((rule, matched))
        if series is None:
            if len(self._verdict_series) >= _VERDICT_CHILDREN:
                self._verdict_series.clear()
            label = self._rule(rule)
            series = self.verdicts.labels(rule=label, matched=str(matched).lower())
            self._verdict_series[(rule, matched)] = series
        return series
