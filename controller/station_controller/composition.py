"""The controller's composition root: every long-lived object of one process, built once at startup.

Features plug in through ``plugins.Feature`` (their ``feature.py``), found by ``discover_features``.
main.py builds one :class:`Services` and puts each field on ``app.state``; routes get them through
typed ``Annotated`` dependencies next to the type's owner (``api/deps.py`` for settings and sessions,
``commands/deps.py``, ``campaigns/deps.py``, ``portal/deps.py``, ...), never from ``app.state``.
To add a long-lived object: one ``build_*`` function here, one field on ``Services``, one dependency.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from .api.ratelimit import BackoffLimiter, FailureLimiter
from .auth.limits import LoginThrottle
from .campaigns.payloads import PayloadAction, payload_registry
from .campaigns.runtime import build_scheduler
from .campaigns.scheduler import CampaignScheduler
from .commands.publisher import CommandPublisher
from .commands.waiters import ResultWaiters
from .content.store import origin_limiter
from .db import make_session_factory
from .ingest.events import DeviceEventHandler
from .plugins import Background, Feature, FeatureContext, discover_features
from .portal.sms import SmsSender, build_sender
from .portal.wifidog.runtime import WifidogRuntime
from .provisioning.jobs.contract import ActionDeps, discover_actions
from .provisioning.jobs.runner import JobRunner
from .settings import Settings


class IngestRuntime(Protocol):
    """What the app needs from the MQTT ingest (``station_controller.ingest.runtime``)."""

    @property
    def publisher(self) -> CommandPublisher: ...

    @property
    def waiters(self) -> ResultWaiters: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def ready(self) -> bool: ...


@dataclass(frozen=True)
class Services:
    """Everything the web process shares between requests (field names are the dependency keys)."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    ingest: IngestRuntime | None
    publisher: CommandPublisher | None  # None: this process cannot publish (no MQTT)
    waiters: ResultWaiters
    login_limiter: LoginThrottle
    enroll_limiter: BackoffLimiter
    portal_sms: SmsSender
    portal_voucher_limiter: FailureLimiter
    wifidog: WifidogRuntime
    campaign_payloads: Mapping[str, PayloadAction]
    campaign_scheduler: CampaignScheduler | None
    job_runner: JobRunner
    background: tuple[Background, ...]  # the features' own long-lived parts (plugins.Feature.background)
    extras: Mapping[str, Any]  # the features' own long-lived objects (plugins.Feature.services)

    def items(self) -> list[tuple[str, Any]]:
        """(name, object) per field, for main.py to expose."""
        own = [(f.name, getattr(self, f.name)) for f in fields(self) if f.name != "extras"]
        clash = set(self.extras) & {name for name, _ in own}
        if clash:
            raise ValueError(f"feature services shadow core services: {sorted(clash)}")
        return own + list(self.extras.items())


def build_payloads(settings: Settings, features: Sequence[Feature] | None = None) -> dict[str, PayloadAction]:
    """Every payload kind campaigns can run, by name, from the features that provide one."""
    found = discover_features() if features is None else features
    actions: list[PayloadAction] = []
    for feature in found:
        for action in feature.payloads(settings) if feature.payloads else ():
            if not isinstance(action, PayloadAction):
                raise TypeError(f"feature {feature.name!r}: {action!r} is not a campaigns PayloadAction")
            actions.append(action)
    return payload_registry(actions)


def build_event_handlers(
    session_factory: sessionmaker[Session],
    payloads: Mapping[str, PayloadAction],
    features: Sequence[Feature] | None = None,
) -> list[DeviceEventHandler]:
    """Every feature's consumer of device events (the hub's ``DeviceEventHandler``), for
    ``ingest.runtime.build_ingest``."""
    found = discover_features() if features is None else features
    handlers: list[DeviceEventHandler] = []
    for feature in found:
        for handler in feature.event_handlers(session_factory, payloads) if feature.event_handlers else ():
            if not isinstance(handler, DeviceEventHandler):
                raise TypeError(f"feature {feature.name!r}: {handler!r} is not an ingest DeviceEventHandler")
            handlers.append(handler)
    return handlers


def build_enroll_limiter(settings: Settings) -> BackoffLimiter:
    return BackoffLimiter(
        free=settings.login_attempts_per_minute,
        base_s=settings.auth_backoff_base_s,
        max_s=settings.auth_backoff_max_s,
        memory_s=settings.auth_failure_memory_s,
    )


def build_wifidog(
    settings: Settings, factory: sessionmaker[Session], clock: Callable[[], float] | None
) -> WifidogRuntime:
    """The WiFiDog counters cache (flushed each second); tests drive idle timeouts with ``clock``."""
    return WifidogRuntime(factory, probe_bytes=settings.portal_wifidog_probe_bytes, clock=clock or time.time)


def build_job_runner(settings: Settings, factory: sessionmaker[Session]) -> JobRunner:
    """The provisioning job runner with every registered action (started by main.py's lifespan)."""
    deps = ActionDeps(settings, factory)
    return JobRunner(deps.session_factory, actions=discover_actions(deps), settings=deps.settings)


def build_services(
    settings: Settings,
    *,
    engine: Engine,
    ingest: IngestRuntime | None = None,
    payloads: Mapping[str, PayloadAction] | None = None,
    wifidog_clock: Callable[[], float] | None = None,
    features: Sequence[Feature] | None = None,
) -> Services:
    """Build (not start) every long-lived object; ``payloads`` is shared with the ingest when given."""
    features = discover_features() if features is None else features
    factory = make_session_factory(engine)
    publisher = ingest.publisher if ingest is not None else None
    payloads = payloads if payloads is not None else build_payloads(settings, features)
    context = FeatureContext(
        settings=settings, session_factory=factory, publisher=publisher, payloads=payloads
    )
    return Services(
        settings=settings,
        engine=engine,
        session_factory=factory,
        ingest=ingest,
        publisher=publisher,
        waiters=ingest.waiters if ingest is not None else ResultWaiters(),
        login_limiter=LoginThrottle.from_settings(settings),
        enroll_limiter=build_enroll_limiter(settings),
        portal_sms=build_sender(settings),
        portal_voucher_limiter=FailureLimiter(limit=settings.portal_voucher_failures_per_minute),
        wifidog=build_wifidog(settings, factory, wifidog_clock),
        campaign_payloads=payloads,
        campaign_scheduler=build_scheduler(settings, factory, payloads, publisher, limiter=origin_limiter()),
        job_runner=build_job_runner(settings, factory),
        background=tuple(b for f in features if f.background for b in f.background(context)),
        extras={name: obj for f in features if f.services for name, obj in f.services(context).items()},
    )
