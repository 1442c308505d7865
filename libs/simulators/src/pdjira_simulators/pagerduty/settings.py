"""Settings of the PagerDuty simulator (CLI flags map one to one)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["PagerDutySettings"]


@dataclass(frozen=True, slots=True)
class PagerDutySettings:
    """`base_url` fixes `self`/`html_url` links; by default they follow the request's host."""

    token: str = "pd-sim-token"  # noqa: S105 - a simulator default, not a secret
    webhook_url: str | None = None
    webhook_secrets: tuple[str, ...] = ()
    webhook_retry_delay: float = 1.0
    webhook_timeout: float = 5.0
    # PagerDuty retries for 48 h; a large bound keeps "receiver down for a while" recoverable.
    webhook_max_attempts: int = 1000
    # Consecutive dropped webhooks before the subscription is temporarily disabled (0 = never).
    webhook_disable_after: int = 3
    seed: int | None = None
    base_url: str | None = None
    rate_limit_per_minute: int = 960
    require_accept_header: bool = False
    extra_tokens: tuple[str, ...] = field(default_factory=tuple)
    # False: an account without the priorities feature (GET /priorities answers 404).
    priorities_enabled: bool = True
    # Validate every REST request and answer against the OpenAPI document (common/contract_mode).
    check_contract: bool = False
    contract_strict: bool = False  # also answer a violation with 500 (implies check_contract)
