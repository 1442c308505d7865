"""Configuration: one YAML file; secrets come from the environment as ``${env:NAME}``.

Errors name the path of the bad field and say what to do, e.g.
``config error at $.jira.instances[0].base_url: ...``.
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec
import yaml

from pdjira_common.partitions import DEFAULT_LEASE_TTL, DEFAULT_PARTITIONS, MAX_PARTITIONS
from pdjira_common.secrets import Secret
from pdjira_common.urls import redact_url

__all__ = [
    "LOG_LEVELS",
    "Config",
    "ConfigError",
    "ConsoleSettings",
    "HttpListen",
    "IngestSettings",
    "JiraAuth",
    "JiraInstance",
    "MappingSettings",
    "NatsSettings",
    "NatsTls",
    "PagerDutyAccount",
    "RateLimit",
    "RetrySettings",
    "SyncRule",
    "UserFallback",
    "WriterSettings",
    "did_you_mean",
    "explain_validation_error",
    "load_config",
    "normalize_base_url",
    "parse_config",
]

_ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
_ID = r"^[A-Za-z0-9_-]{1,64}$"


class ConfigError(ValueError):
    """The configuration file cannot be used; the message says where and why."""


Id = msgspec.Meta(pattern=_ID, description="letters, digits, '_' or '-' (used in NATS subjects)")


class NatsTls(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """TLS to NATS: the CA that signs the server's certificate (default: the system's), a client
    certificate and key (mutual TLS), the name the server's certificate is checked against."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    server_name: str | None = None


class NatsSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where NATS is and how to log in: at most one of user/password, token, a creds file
    (JWT + nkey seed) or an nkey seed file; TLS with ``tls`` (or a ``tls://`` URL)."""

    url: str = "nats://127.0.0.1:4222"  # several: comma-separated
    replicas: int = 1
    # Partitions of the event and command streams: at most this many replicas of one service
    # share the work (order per entity holds across them). Change only with the streams drained.
    partitions: int = DEFAULT_PARTITIONS
    # How long a killed replica's partitions wait before another replica takes them over.
    partition_lease_ttl: float = DEFAULT_LEASE_TTL
    user: str | None = None
    password: Secret | None = None
    token: Secret | None = None
    creds_file: str | None = None
    nkey_seed_file: str | None = None
    tls: NatsTls | None = None

    def urls(self) -> list[str]:
        """The server URLs of ``url`` (a scheme-less one is ``nats://``), user info kept."""
        return [
            u if "://" in u else "nats://" + u for u in map(str.strip, self.url.split(",")) if u
        ]


class HttpListen(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    host: str = "127.0.0.1"
    port: int = 0


class RateLimit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Our own budget for one vendor target, before the server says anything (its headers and
    429s can only lower it). ``requests_per_second`` is for the whole target: the writer
    replicas share it at run time in NATS KV (``pdjira_common.shared_budget``), so one busy
    replica may use all of it; while KV is out of reach each takes ``1 / writers.replicas``."""

    requests_per_second: float
    burst: int = 1


class WriterSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the writers run: replicas (a replica's share of a rate limit while the shared budget
    in KV is out of reach) and entities worked on at once."""

    replicas: int = 1
    concurrency: int = 32


class PagerDutyAccount(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    token: Secret
    from_email: str  # the integration user: `From` for writes no person can be mapped to
    webhook_secrets: tuple[Secret, ...] = ()
    api_url: str = "https://api.pagerduty.com"
    # PagerDuty's documented REST limit is 960 requests per minute per token.
    rate_limit: RateLimit = RateLimit(requests_per_second=16.0)


class JiraAuth(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    type: Literal["basic", "token"]
    username: str | None = None
    password: Secret | None = None
    token: Secret | None = None


class JiraInstance(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    base_url: str
    auth: JiraAuth
    # How ingest knows a webhook is from this Jira: at least one of the two. ``webhook_secret``
    # checks X-Hub-Signature (Jira DC 10+); ``webhook_token`` the ``?token=`` of the webhook URL
    # (/webhooks/jira/<id>?token=..., for a Jira that cannot sign). Both set: both are checked.
    webhook_secret: Secret | None = None
    webhook_token: Secret | None = None
    # Jira DC's rate limiting is off by default; when on, its headers lower this budget.
    rate_limit: RateLimit = RateLimit(requests_per_second=50.0, burst=5)


class SyncRule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A simple rule (``rules:``): create on trigger, follow status both ways, notes <->
    comments. The rules service compiles each into a PagerDuty-style rule at start (one engine
    decides both forms); its name is unique among all rules of the file."""

    name: str
    account: str
    instance: str
    project: str
    issue_type: str
    services: tuple[str, ...] = ()  # empty: every service of the account
    create_on_trigger: bool = True
    on_acknowledge: str | None = None  # Jira status to move the linked issue to
    on_resolve: str | None = None
    resolution: str | None = None
    resolve_when_status: tuple[str, ...] = ()  # Jira statuses that resolve the incident


class RetrySettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Delayed redelivery of failed commands: base * 2^attempt (jittered), capped, bounded."""

    base_delay: float = 1.0
    max_delay: float = 60.0
    max_attempts: int = 10
    ack_wait: float = 30.0
    http_timeout: float = 10.0
    # Waiting for a prerequisite (e.g. the issue a transition needs) is not a failure; the waits
    # grow from 1 s to 10 s (pdjira_common.retry.wait_delay): 60 span about nine minutes.
    prerequisite_max_attempts: int = 60


class UserFallback(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Who acts for a person that is mapped neither by hand nor by e-mail, per account/instance.

    ``jira_user`` (login name) stands in on the Jira side, ``pd_user_id`` on PagerDuty's.
    """

    account: str
    instance: str
    jira_user: str | None = None
    jira_user_key: str | None = None  # defaults to ``jira_user`` (older Jira: key == name)
    pd_user_id: str | None = None
    pd_user_email: str | None = None  # `From` of writes made for the fallback user


class MappingSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The mapping service: its admin API, user mapping and echo marks."""

    # Bearer token of the admin API (served under /admin/ on the mapping listener); unset:
    # the admin API answers 503.
    admin_token: Secret | None = None
    email_cache_ttl: float = 3600.0  # how long an e-mail lookup (hit or miss) is trusted
    echo_mark_ttl: float = 300.0  # ceiling for the TTL a writer asks for a mark
    read_timeout: float = 5.0  # waiting for a writer's read (user by id / by e-mail)
    fallbacks: tuple[UserFallback, ...] = ()
    # Links kept in memory (the most recently used; the rest are read from KV, well under a
    # millisecond), and how long one is trusted should an invalidation be missed.
    link_cache_size: int = 50_000
    link_cache_max_age: float = 300.0
    # A change made by a person linked to no user on the other side (no manual link, no
    # e-mail match, no fallback user): "ignore" it, as PagerDuty's Jira integration does, or
    # apply it as the "integration_user" (``from_email`` / the Jira account of the instance).
    unlinked_users: Literal["ignore", "integration_user"] = "ignore"

    def fallback(self, account: str, instance: str) -> UserFallback | None:
        for fallback in self.fallbacks:
            if (fallback.account, fallback.instance) == (account, instance):
                return fallback
        return None


class RulesSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The rules service: its admin API (PagerDuty's ``/rules`` shape) and the Jira fallback."""

    # Bearer token of the rules admin API (served under /rules on the rules listener); unset:
    # the API answers 503.
    admin_token: Secret | None = None
    read_timeout: float = 5.0  # waiting for a writer's read (catalogs, JQL fallback search)
    jql_cache_ttl: float = 10.0  # how long Jira's answer to a fallback JQL query is reused
    max_rules: int = 2000  # PagerDuty's own limit per account
    # How long a note, comment or status change of an entity whose link is not recorded yet
    # (its create is in flight) waits for the link before it is dead-lettered with the reason.
    # Minutes, not seconds: a create held back by a vendor's rate limit (PagerDuty resets its
    # budget each minute) or a short outage must not cost the events made meanwhile.
    link_wait: float = 600.0


class ReconcileSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The reconciliation poller (in ingest): per PagerDuty account and Jira instance, fetch
    what changed since a watermark and publish the changes whose webhooks never came."""

    enabled: bool = True
    interval: float = 60.0  # seconds between two polls of one target
    lookback: float = 300.0  # how far before the watermark each poll looks again (late writes)
    # On a first start (no watermark yet): how far back to look, not the whole history.
    initial_lookback: float = 3600.0
    # A change younger than this is left to its webhook (still in flight); the next poll sees it.
    settle: float = 5.0


class IngestSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Ingest's own settings: where PagerDuty and Jira reach it, and its admin API
    (``pdjira webhooks check``)."""

    # The URL PagerDuty and Jira send webhooks to (scheme, host, port and any path prefix in
    # front of ingest, without /webhooks/...), e.g. https://pdjira.example.com; the webhook
    # check compares the registered subscriptions with it.
    public_url: str | None = None
    # Bearer token of ingest's admin API (/admin/v1/webhooks on the ingest listener); unset:
    # the admin API answers 503.
    admin_token: Secret | None = None
    # How long the webhook check waits for a PagerDuty ping to reach ingest.
    ping_timeout: float = 15.0


class ConsoleSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The admin web console (services/console)."""

    # The token entered on the login page; unset (and no trusted_user_header): nobody can log in.
    admin_token: Secret | None = None
    # Trust this request header's value as the logged-in user (e.g. X-Forwarded-User): ONLY
    # behind a reverse proxy that sets it and strips it from clients' requests.
    trusted_user_header: str | None = None
    # The key signing session cookies; unset: derived from admin_token.
    session_secret: Secret | None = None


class ServiceListen(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    ingest: HttpListen = HttpListen(port=8080)
    rules: HttpListen = HttpListen(port=8091)
    jira_writer: HttpListen = HttpListen(port=8092)
    pd_writer: HttpListen = HttpListen(port=8093)
    mapping: HttpListen = HttpListen(port=8094)
    console: HttpListen = HttpListen(port=8095)


class Config(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    nats: NatsSettings = NatsSettings()
    pagerduty_accounts: tuple[PagerDutyAccount, ...] = ()
    jira_instances: tuple[JiraInstance, ...] = ()
    rules: tuple[SyncRule, ...] = ()
    # PagerDuty-style rules, ``{account, instance, rule: {...}, priority_map...}`` each; the
    # rules service decodes and validates them at start, with ``rules`` compiled (and stores
    # them all in KV pdjira_rules).
    pagerduty_rules: tuple[dict[str, Any], ...] = ()
    rules_service: RulesSettings = RulesSettings()
    reconcile: ReconcileSettings = ReconcileSettings()
    retry: RetrySettings = RetrySettings()
    writers: WriterSettings = WriterSettings()
    listen: ServiceListen = ServiceListen()
    mapping: MappingSettings = MappingSettings()
    log_level: str = "info"
    ingest: IngestSettings = IngestSettings()
    console: ConsoleSettings = ConsoleSettings()

    def account(self, account_id: str) -> PagerDutyAccount:
        for account in self.pagerduty_accounts:
            if account.id == account_id:
                return account
        raise KeyError(account_id)

    def instance(self, instance_id: str) -> JiraInstance:
        for instance in self.jira_instances:
            if instance.id == instance_id:
                return instance
        raise KeyError(instance_id)


def normalize_base_url(url: str) -> str:
    """A base URL without a scheme means ``http://`` (as PagerDuty's Jira app does)."""
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    return url.rstrip("/")


def _substitute_env(node: Any, path: str) -> Any:
    if isinstance(node, dict):
        return {k: _substitute_env(v, f"{path}.{k}") for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute_env(v, f"{path}[{i}]") for i, v in enumerate(node)]
    if isinstance(node, str):

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            value = os.environ.get(name)
            if value is None:
                raise ConfigError(
                    f"config error at {path}: environment variable {name} is not set; "
                    f"export {name} or remove the reference"
                )
            return value

        return _ENV_REF.sub(replace, node)
    return node


def _dec_hook(type_: type, obj: Any) -> Any:
    if type_ is Secret:
        if not isinstance(obj, str):
            raise msgspec.ValidationError("Expected `str` (a secret, e.g. ${env:NAME})")
        return Secret(obj)
    raise TypeError(f"no decoder for {type_.__name__}")  # msgspec reports it with the path


def _check(config: Config) -> Config:
    seen: set[str] = set()
    for i, a in enumerate(config.pagerduty_accounts):
        if not re.match(_ID, a.id):
            raise ConfigError(
                f"config error at $.pagerduty_accounts[{i}].id: {a.id!r} must match {_ID}"
            )
        if a.id in seen:
            raise ConfigError(
                f"config error at $.pagerduty_accounts[{i}].id: duplicate id {a.id!r}"
            )
        seen.add(a.id)
    seen = set()
    instances = []
    for i, j in enumerate(config.jira_instances):
        where = f"$.jira_instances[{i}]"
        if not re.match(_ID, j.id):
            raise ConfigError(f"config error at {where}.id: {j.id!r} must match {_ID}")
        if j.id in seen:
            raise ConfigError(f"config error at {where}.id: duplicate id {j.id!r}")
        seen.add(j.id)
        auth = j.auth
        if auth.type == "basic" and (auth.username is None or auth.password is None):
            raise ConfigError(
                f"config error at {where}.auth: basic auth needs username and password"
            )
        if auth.type == "token" and auth.token is None:
            raise ConfigError(f"config error at {where}.auth: token auth needs token")
        _check_webhook_auth(j, where)
        instances.append(msgspec.structs.replace(j, base_url=normalize_base_url(j.base_url)))
    for where, limit in [
        *(
            (f"$.pagerduty_accounts[{i}]", a.rate_limit)
            for i, a in enumerate(config.pagerduty_accounts)
        ),
        *((f"$.jira_instances[{i}]", j.rate_limit) for i, j in enumerate(config.jira_instances)),
    ]:
        if limit.requests_per_second <= 0 or limit.burst < 1:
            raise ConfigError(
                f"config error at {where}.rate_limit: requests_per_second must be > 0 and "
                "burst >= 1"
            )
    if config.writers.replicas < 1 or config.writers.concurrency < 1:
        raise ConfigError("config error at $.writers: replicas and concurrency must be at least 1")
    accounts = {a.id for a in config.pagerduty_accounts}
    for i, rule in enumerate(config.rules):
        if rule.account not in accounts:
            raise ConfigError(
                f"config error at $.rules[{i}].account: unknown account {rule.account!r}; "
                f"configured: {sorted(accounts)}"
            )
        if rule.instance not in seen:
            raise ConfigError(
                f"config error at $.rules[{i}].instance: unknown Jira instance {rule.instance!r}; "
                f"configured: {sorted(seen)}"
            )
    for i, raw in enumerate(config.pagerduty_rules):
        for key, known in (("account", accounts), ("instance", seen)):
            value = raw.get(key)
            if value is not None and value not in known:
                raise ConfigError(
                    f"config error at $.pagerduty_rules[{i}].{key}: unknown {key} {value!r}; "
                    f"configured: {sorted(known)}"
                )
    _check_mapping(config.mapping, accounts, seen)
    _check_nats(config.nats)
    _check_log_level(config.log_level)
    return msgspec.structs.replace(config, jira_instances=tuple(instances))


def _check_nats(nats: NatsSettings) -> None:
    where = "config error at $.nats"
    urls = nats.urls()
    if not urls:
        raise ConfigError(f"{where}.url: give at least one URL, e.g. nats://127.0.0.1:4222")
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("nats", "tls", "ws", "wss"):
            raise ConfigError(
                f"{where}.url: {redact_url(url)!r} has scheme {parts.scheme!r}; use nats://, "
                "tls://, ws:// or wss://"
            )
    if nats.replicas < 1:
        raise ConfigError(f"{where}.replicas: must be at least 1")
    if not 1 <= nats.partitions <= MAX_PARTITIONS:
        raise ConfigError(
            f"{where}.partitions: {nats.partitions} is out of range; give 1 to "
            f"{MAX_PARTITIONS} (at least the most replicas any service runs with)"
        )
    if not 1.0 <= nats.partition_lease_ttl <= 600.0:
        raise ConfigError(
            f"{where}.partition_lease_ttl: {nats.partition_lease_ttl:g} s is out of range; give "
            f"1 to 600 seconds ({DEFAULT_LEASE_TTL:g} is the default)"
        )
    in_url = any(urlsplit(u).username or urlsplit(u).password for u in urls)
    if (nats.user is None) != (nats.password is None):
        raise ConfigError(
            f"{where}: user and password go together; give both (or neither), "
            "e.g. password: ${env:PDJIRA_NATS_PASSWORD}"
        )
    methods = [
        name
        for name, given in (
            ("user/password", nats.user is not None),
            ("token", nats.token is not None),
            ("creds_file", nats.creds_file is not None),
            ("nkey_seed_file", nats.nkey_seed_file is not None),
            ("credentials in the url", in_url),
        )
        if given
    ]
    if len(methods) > 1:
        raise ConfigError(
            f"{where}: {' and '.join(methods)} are both set; NATS takes one way to log in, "
            "keep one of them"
        )
    for key in ("creds_file", "nkey_seed_file"):
        value = getattr(nats, key)
        if value is None:
            continue
        if not Path(value).is_file():
            raise ConfigError(f"{where}.{key}: no file at {value!r}")
    tls = nats.tls
    if tls is None:
        return
    if (tls.cert_file is None) != (tls.key_file is None):
        raise ConfigError(
            f"{where}.tls: cert_file and key_file go together (a client certificate and its key)"
        )
    for key in ("ca_file", "cert_file", "key_file"):
        value = getattr(tls, key)
        if value is not None and not Path(value).is_file():
            raise ConfigError(f"{where}.tls.{key}: no file at {value!r}")


MIN_WEBHOOK_TOKEN = 16


def _check_webhook_auth(instance: JiraInstance, where: str) -> None:
    """A Jira instance's webhooks must be authenticated: a secret, a URL token or both."""
    if instance.webhook_secret is None and instance.webhook_token is None:
        raise ConfigError(
            f"config error at {where}: set webhook_secret (the secret of the webhook in Jira DC, "
            "checked against X-Hub-Signature) or webhook_token (a random token, then point the "
            f"Jira webhook at /webhooks/jira/{instance.id}?token=<webhook_token>); without one "
            "anyone could send this instance's webhooks"
        )
    for name, value in (
        ("webhook_secret", instance.webhook_secret),
        ("webhook_token", instance.webhook_token),
    ):
        if value is not None and not value.reveal():
            raise ConfigError(f"config error at {where}.{name}: must not be empty")
    token = instance.webhook_token
    if token is not None and len(token.reveal()) < MIN_WEBHOOK_TOKEN:
        raise ConfigError(
            f"config error at {where}.webhook_token: must be at least {MIN_WEBHOOK_TOKEN} "
            "characters (a random token, e.g. `openssl rand -hex 24`)"
        )


def _check_mapping(mapping: MappingSettings, accounts: set[str], instances: set[str]) -> None:
    if not 0 < mapping.echo_mark_ttl <= 3600:
        raise ConfigError(
            "config error at $.mapping.echo_mark_ttl: must be more than 0 and at most 3600 "
            f"seconds (the echo bucket keeps marks for an hour), got {mapping.echo_mark_ttl}"
        )
    if mapping.email_cache_ttl < 0:
        raise ConfigError("config error at $.mapping.email_cache_ttl: must be 0 or more seconds")
    if mapping.link_cache_size < 0:
        raise ConfigError(
            "config error at $.mapping.link_cache_size: must be 0 (no links in memory) or more"
        )
    if mapping.link_cache_max_age <= 0:
        raise ConfigError("config error at $.mapping.link_cache_max_age: must be more than 0")
    pairs: set[tuple[str, str]] = set()
    for i, fallback in enumerate(mapping.fallbacks):
        where = f"$.mapping.fallbacks[{i}]"
        if fallback.account not in accounts:
            raise ConfigError(
                f"config error at {where}.account: unknown account {fallback.account!r}; "
                f"configured: {sorted(accounts)}"
            )
        if fallback.instance not in instances:
            raise ConfigError(
                f"config error at {where}.instance: unknown Jira instance "
                f"{fallback.instance!r}; configured: {sorted(instances)}"
            )
        if (fallback.account, fallback.instance) in pairs:
            raise ConfigError(
                f"config error at {where}: a second fallback for account {fallback.account!r} "
                f"and instance {fallback.instance!r}; keep one per pair"
            )
        pairs.add((fallback.account, fallback.instance))
        if fallback.jira_user is None and fallback.pd_user_id is None:
            raise ConfigError(
                f"config error at {where}: give jira_user, pd_user_id or both "
                "(the stand-in on each side)"
            )


LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def did_you_mean(word: str, choices: typing.Iterable[str]) -> str:
    """``" (did you mean 'token'?)"`` for the closest of ``choices``, or ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_log_level(level: str) -> None:
    if level.lower() not in LOG_LEVELS:
        raise ConfigError(
            f"config error at $.log_level: {level!r} is not a log level"
            f"{did_you_mean(level.lower(), LOG_LEVELS)}; allowed values: {', '.join(LOG_LEVELS)}"
        )


_PATH_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_MSGSPEC_AT = re.compile(r"^(?P<what>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.DOTALL)


def _unwrap(type_: Any) -> Any:
    """``X`` of ``X | None``; other types as they are."""
    origin = typing.get_origin(type_)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(type_) if a is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
    return type_


def _type_at(path: str) -> Any:
    """The declared type of the config value at ``path`` (``$.jira_instances[0].auth``), or
    None where the path leaves the declared structure (e.g. inside ``pagerduty_rules``)."""
    current: Any = Config
    for key, index in _PATH_STEP.findall(path.removeprefix("$")):
        current = _unwrap(current)
        if index:
            args = typing.get_args(current)
            if typing.get_origin(current) not in (tuple, list) or not args:
                return None
            current = args[0]
        elif isinstance(current, type) and issubclass(current, msgspec.Struct):
            by_name = {f.encode_name: f.type for f in msgspec.structs.fields(current)}
            if key not in by_name:
                return None
            current = by_name[key]
        else:
            return None
    return _unwrap(current)


def _keys_of(type_: Any) -> list[str]:
    if isinstance(type_, type) and issubclass(type_, msgspec.Struct):
        return [f.encode_name for f in msgspec.structs.fields(type_)]
    return []


def explain_validation_error(text: str) -> str:
    """msgspec's ``Object contains unknown field `tokn` - at `$.x``` as ``config error at
    $.x.tokn: ...`` saying what is allowed there (the keys, the values), and the closest."""
    match = _MSGSPEC_AT.match(text)
    what, path = (match["what"], match["path"] or "$") if match else (text, "$")
    unknown = re.fullmatch(r"Object contains unknown field `(.+)`", what)
    if unknown:
        key = unknown[1]
        known = _keys_of(_type_at(path))
        listed = f"; known keys here: {', '.join(known)}" if known else ""
        return (
            f"config error at {path}.{key}: unknown key {key!r}{did_you_mean(key, known)}{listed}"
        )
    missing = re.fullmatch(r"Object missing required field `(.+)`", what)
    if missing:
        return f"config error at {path}.{missing[1]}: missing; it is required"
    type_ = _type_at(path)
    allowed = (
        [str(v) for v in typing.get_args(type_)] if typing.get_origin(type_) is Literal else []
    )
    if not allowed:
        return f"config error at {path}: {what}"
    enum = re.fullmatch(r"Invalid enum value (.+)", what)
    if enum:
        given = enum[1].strip("'\"")
        what = f"{enum[1]} is not allowed{did_you_mean(given, allowed)}"
    return f"config error at {path}: {what}; allowed values: {', '.join(allowed)}"


def parse_config(data: Any) -> Config:
    """Validate an already-parsed YAML/JSON tree."""
    data = _substitute_env(data if data is not None else {}, "$")
    try:
        config = msgspec.convert(data, Config, dec_hook=_dec_hook)
    except msgspec.ValidationError as exc:
        raise ConfigError(explain_validation_error(str(exc))) from None
    return _check(config)


def load_config(path: str | Path) -> Config:
    """Read and validate the YAML file at ``path``."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    return parse_config(data)
