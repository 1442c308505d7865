"""Rules API fixtures: a real nats-server, the rule store on its KV bucket, and fake writers
(core NATS responders on the ``reads.*`` subjects) answering catalog and search reads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.kv import KeyValue
from pdjira_common import streams
from pdjira_common.config import Config, parse_config
from pdjira_common.contracts import encode
from pdjira_common.doctor import JiraHealthRead, JiraHealthReply, JiraProjectAccess
from pdjira_common.requests import (
    JiraCreateMetaRead,
    JiraCreateMetaReply,
    JiraFieldMeta,
    JiraIssueSummary,
    JiraNamed,
    JiraNamesReply,
    JiraSearchRead,
    JiraSearchReply,
    PdNamed,
    PdNamesReply,
    PdUser,
    PdUserRead,
    PdUserReply,
    PdUserSearch,
)
from pdjira_devstack.waiting import wait_until
from pdjira_rules.access_check import JiraAccessCheck
from pdjira_rules.admin_api import RulesApi
from pdjira_rules.catalog import Catalogs
from pdjira_rules.permissions_needed import PERMISSION_NAMES
from pdjira_rules.reads import NatsReads
from pdjira_rules.rule_model import StoredRule
from pdjira_rules.rule_validation import JiraCatalog, PdCatalog
from pdjira_rules.store import RuleStore

TOKEN = "rules-admin-token-5678"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def base_config(nats_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "nats": {"url": nats_url},
        "pagerduty_accounts": [
            {"id": "acme", "token": "pd-token-rules", "from_email": "bot@example.com"}
        ],
        "jira_instances": [
            {
                "id": "dc1",
                "base_url": "jira.example.com",
                "auth": {"type": "token", "token": "jira-pat-rules"},
                "webhook_secret": "jira-hook-secret",
            }
        ],
        "rules_service": {"admin_token": TOKEN, "read_timeout": 1.0},
        **extra,
    }


def make_config(nats_url: str, **extra: Any) -> Config:
    return parse_config(base_config(nats_url, **extra))


def jira_named(*pairs: tuple[str, str]) -> tuple[JiraNamed, ...]:
    return tuple(JiraNamed(id=i, name=n) for i, n in pairs)


@dataclass
class FakeWriters:
    """Answers ``reads.jira.dc1.*`` and ``reads.pd.acme.*`` like the writers would.

    ``silent`` subjects get no answer (a writer that is not running); ``failing`` ones answer
    with ``error``. ``asked`` records every subject asked; ``searches`` the JQL searched and
    ``matching`` the issue keys a search finds.
    """

    nc: Client
    instance: str = "dc1"
    account: str = "acme"
    statuses: tuple[JiraNamed, ...] = jira_named(
        ("10000", "To Do"), ("3", "In Progress"), ("10001", "Done")
    )
    priorities: tuple[JiraNamed, ...] = jira_named(
        ("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest")
    )
    projects: tuple[JiraNamed, ...] = (
        JiraNamed(id="10000", name="PagerDuty", key="PD"),
        JiraNamed(id="10100", name="Operations", key="OPS"),
    )
    issue_types: tuple[JiraNamed, ...] = jira_named(("10002", "Task"), ("10004", "Bug"))
    resolutions: tuple[JiraNamed, ...] = jira_named(("1", "Done"), ("2", "Won't Do"))
    fields: tuple[JiraNamed, ...] = jira_named(
        ("summary", "Summary"),
        ("description", "Description"),
        ("priority", "Priority"),
        ("labels", "Labels"),
        ("customfield_10010", "Team"),
    )
    # (project key, issue type name) -> required field ids; others: summary only
    required: dict[tuple[str, str], tuple[str, ...]] = field(
        default_factory=lambda: {("OPS", "Task"): ("summary", "customfield_10010")}
    )
    services: tuple[PdNamed, ...] = (PdNamed(id="PSVC1", name="Web"),)
    pd_priorities: tuple[PdNamed, ...] = (
        PdNamed(id="PP1", name="P1"),
        PdNamed(id="PP2", name="P2"),
        PdNamed(id="PP3", name="P3"),
    )
    pd_users: tuple[PdUser, ...] = (PdUser(id="PUSER1", email="pat@example.com", name="Pat"),)
    matching: set[str] = field(default_factory=set)
    lacking: set[tuple[str, str]] = field(default_factory=set)  # (project key, permission)
    silent: set[str] = field(default_factory=set)
    failing: dict[str, str] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    _subs: list[Subscription] = field(default_factory=list)

    def use_catalogs(self, jira: JiraCatalog, pd: PdCatalog) -> None:
        """Answer with exactly these catalogs (as a test of validation builds them)."""
        self.statuses = tuple(JiraNamed(id=s.id, name=s.name) for s in jira.statuses)
        self.priorities = tuple(JiraNamed(id=s.id, name=s.name) for s in jira.priorities)
        self.projects = tuple(JiraNamed(id=p.id, name=p.name, key=p.key) for p in jira.projects)
        self.issue_types = tuple(JiraNamed(id=s.id, name=s.name) for s in jira.issue_types)
        self.services = tuple(PdNamed(id=s.id, name=s.name) for s in pd.services)
        self.pd_priorities = tuple(PdNamed(id=s.id, name=s.name) for s in pd.priorities)
        self.pd_users = tuple(PdUser(id=u.id, email=u.key, name=u.name) for u in pd.users)
        self.required = {}

    async def start(self) -> FakeWriters:
        jira = f"reads.jira.{self.instance}"
        pd = f"reads.pd.{self.account}"
        answers: dict[str, Callable[[bytes], bytes]] = {
            f"{jira}.statuses": lambda _: encode(JiraNamesReply(items=self.statuses)),
            f"{jira}.priorities": lambda _: encode(JiraNamesReply(items=self.priorities)),
            f"{jira}.projects": lambda _: encode(JiraNamesReply(items=self.projects)),
            f"{jira}.issue_types": lambda _: encode(JiraNamesReply(items=self.issue_types)),
            f"{jira}.resolutions": lambda _: encode(JiraNamesReply(items=self.resolutions)),
            f"{jira}.fields": lambda _: encode(JiraNamesReply(items=self.fields)),
            f"{jira}.createmeta": self._createmeta,
            f"{jira}.search": self._search,
            f"{pd}.services": lambda _: encode(PdNamesReply(items=self.services)),
            f"{pd}.priorities": lambda _: encode(PdNamesReply(items=self.pd_priorities)),
            f"{pd}.user": self._user,
            f"{pd}.users_by_email": self._user_by_email,
            f"{jira}.health": self._health,
        }
        for subject, answer in answers.items():
            self._subs.append(await self.nc.subscribe(subject, cb=self._responder(answer)))
        await self.nc.flush()
        return self

    def _responder(self, answer: Callable[[bytes], bytes]) -> Callable[[Msg], Awaitable[None]]:
        async def respond(msg: Msg) -> None:
            self.asked.append(msg.subject)
            if msg.subject in self.silent:
                return
            if msg.subject in self.failing:
                error = self.failing[msg.subject]
                await msg.respond(msgspec.json.encode({"error": error}))
                return
            await msg.respond(answer(msg.data))

        return respond

    def _createmeta(self, data: bytes) -> bytes:
        read = msgspec.json.decode(data, type=JiraCreateMetaRead)
        required = set(self.required.get((read.project, read.issue_type), ("summary",)))
        return encode(
            JiraCreateMetaReply(
                fields=tuple(
                    JiraFieldMeta(id=f.id, name=f.name, required=f.id in required)
                    for f in self.fields
                )
            )
        )

    def _user(self, data: bytes) -> bytes:
        read = msgspec.json.decode(data, type=PdUserRead)
        found = next((u for u in self.pd_users if u.id == read.user_id), None)
        return encode(PdUserReply(user=found))

    def _user_by_email(self, data: bytes) -> bytes:
        read = msgspec.json.decode(data, type=PdUserSearch)
        found = next((u for u in self.pd_users if u.email == read.email), None)
        return encode(PdUserReply(user=found))

    def _health(self, data: bytes) -> bytes:
        """The integration user holds every permission in every project (``lacking``: not
        these (project key, permission) pairs)."""
        read = msgspec.json.decode(data, type=JiraHealthRead)
        found = []
        for ref in read.projects:
            project = next((p for p in self.projects if ref in (p.id, p.key, p.name)), None)
            if project is None:
                found.append(JiraProjectAccess(project=ref))
                continue
            key = project.key or project.id
            held = tuple(p for p in PERMISSION_NAMES if (key, p) not in self.lacking)
            found.append(JiraProjectAccess(project=ref, key=key, held=held))
        return encode(JiraHealthReply(version="10.3.4", user="pdjira", projects=tuple(found)))

    def _search(self, data: bytes) -> bytes:
        read = msgspec.json.decode(data, type=JiraSearchRead)
        self.searches.append(read.jql)
        hits = tuple(
            JiraIssueSummary(id=str(i), key=k)
            for i, k in enumerate(sorted(self.matching))
            if k in read.jql
        )
        return encode(JiraSearchReply(total=len(hits), issues=hits))

    async def stop(self) -> None:
        for sub in self._subs:
            await sub.unsubscribe()
        self._subs = []


@pytest.fixture
async def writers(nc: Client) -> AsyncIterator[FakeWriters]:
    fake = await FakeWriters(nc).start()
    try:
        yield fake
    finally:
        await fake.stop()


def opener(nc: Client) -> Callable[[], Awaitable[KeyValue]]:
    async def open_bucket() -> KeyValue:
        kv: KeyValue = await nc.jetstream().key_value(streams.KV_RULES)
        return kv

    return open_bucket


StoreFactory = Callable[..., Awaitable[RuleStore]]


@pytest.fixture
async def make_store(nc: Client) -> AsyncIterator[StoreFactory]:
    """Start a RuleStore (as one rules replica would) on the test's bucket; stopped after."""
    started: list[RuleStore] = []

    async def make(config_rules: tuple[StoredRule, ...] = ()) -> RuleStore:
        store = RuleStore(opener(nc), config_rules)
        await store.start(timeout=10.0)
        started.append(store)
        return store

    try:
        yield make
    finally:
        for store in started:
            await store.stop()


@dataclass
class Api:
    http: httpx.AsyncClient
    store: RuleStore
    api: RulesApi


def make_api(config: Config, store: RuleStore, nc: Client) -> RulesApi:
    reads = NatsReads(lambda: nc, timeout=config.rules_service.read_timeout)
    return RulesApi(
        config.rules_service,
        accounts=[a.id for a in config.pagerduty_accounts],
        instances=[j.id for j in config.jira_instances],
        store=store,
        catalogs=Catalogs(reads),
        access=JiraAccessCheck(reads),
    )


@pytest.fixture
async def api(nc: Client, make_store: StoreFactory, nats_server: Any) -> AsyncIterator[Api]:
    """The admin API over ASGI (no sockets), on a started store."""
    config = make_config(nats_server.url)
    store = await make_store()
    app = make_api(config, store, nc)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rules") as http:
        yield Api(http=http, store=store, api=app)


async def until(check: Callable[[], bool], *, what: str, timeout: float = 5.0) -> None:
    """Until ``check()`` holds (a replica's view of the bucket, a background check...), with
    the suite's one polling helper."""

    async def probe() -> bool:
        return check()

    await wait_until(probe, timeout=timeout, what=what, interval=0.02)
