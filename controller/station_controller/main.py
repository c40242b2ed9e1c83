"""The FastAPI application factory: wires settings, DB, ingest, routes and the error handler."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Protocol

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from . import __version__, supervisor
from .api.health import router as health_router
from .api.ratelimit import BackoffLimiter, FailureLimiter
from .api.router import build_api_router
from .auth.limits import LoginThrottle
from .campaigns.payloads import build_payloads
from .campaigns.runtime import build_scheduler
from .commands.publisher import CommandPublisher
from .commands.waiters import ResultWaiters
from .console.campaign_routes import router as console_campaigns_router
from .console.config_routes import router as console_configs_router
from .console.content_routes import router as console_content_router
from .console.jobs_routes import router as console_jobs_router
from .console.portal_routes import router as console_portal_router
from .console.routes import root_router as console_root_router
from .console.routes import router as console_router
from .content.routes import public_router as content_public_router
from .db import make_engine, make_session_factory
from .errors import ControllerError, RateLimited
from .observability.routes import router as metrics_router
from .portal.pages.routes import router as portal_pages_router
from .portal.sms import build_sender
from .portal.wifidog.routes import router as wifidog_router
from .portal.wifidog.runtime import WifidogRuntime
from .provisioning.artifacts import router as provisioning_artifacts_router
from .settings import Settings, get_settings

log = logging.getLogger(__name__)


class IngestRuntime(Protocol):
    """What the app needs from the MQTT ingest (``station_controller.ingest.runtime``)."""

    @property
    def publisher(self) -> CommandPublisher: ...

    @property
    def waiters(self) -> ResultWaiters: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def ready(self) -> bool: ...


async def _controller_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ControllerError)
    headers = {"retry-after": str(max(1, round(exc.retry_after_s)))} if isinstance(exc, RateLimited) else None
    return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)


def create_app(
    settings: Settings,
    *,
    ingest: IngestRuntime | None = None,
    engine: Engine | None = None,
    wifidog_clock: Callable[[], float] | None = None,
) -> FastAPI:
    """Build the app; ``ingest`` (optional) is started and stopped with it, ``engine`` disposed on stop.

    ``wifidog_clock`` (epoch seconds) times WiFiDog decisions: tests drive idle timeouts with it.
    """
    engine = engine or make_engine(settings.database_url)
    supervisor.configure(
        min_backoff_s=settings.thread_restart_min_s, max_backoff_s=settings.thread_restart_max_s
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if ingest is not None:
            await run_in_threadpool(ingest.start)
        scheduler = _app.state.campaign_scheduler
        if scheduler is not None:
            scheduler.start()
        await run_in_threadpool(_app.state.wifidog.start)
        try:
            yield
        finally:
            await run_in_threadpool(_app.state.wifidog.stop)
            if scheduler is not None:
                await run_in_threadpool(scheduler.stop)
            if ingest is not None:
                await run_in_threadpool(ingest.stop)
            engine.dispose()

    app = FastAPI(title="Station Fleet controller", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.ingest = ingest
    app.state.publisher = ingest.publisher if ingest is not None else None
    app.state.waiters = ingest.waiters if ingest is not None else ResultWaiters()
    app.state.login_limiter = LoginThrottle.from_settings(settings)
    app.state.enroll_limiter = BackoffLimiter(
        free=settings.login_attempts_per_minute,
        base_s=settings.auth_backoff_base_s,
        max_s=settings.auth_backoff_max_s,
        memory_s=settings.auth_failure_memory_s,
    )
    app.state.portal_sms = build_sender(settings)
    app.state.portal_voucher_limiter = FailureLimiter(limit=settings.portal_voucher_failures_per_minute)
    app.state.wifidog = WifidogRuntime(  # counters cache, flushed each second
        app.state.session_factory,
        probe_bytes=settings.portal_wifidog_probe_bytes,
        clock=wifidog_clock or time.time,
    )
    app.state.campaign_payloads = build_payloads(settings)
    app.state.campaign_scheduler = build_scheduler(
        settings, app.state.session_factory, app.state.campaign_payloads, app.state.publisher
    )
    app.add_exception_handler(ControllerError, _controller_error)
    if settings.forwarded_allow_ips:
        # X-Forwarded-For only from the configured proxies; request.client is then the real client.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    app.include_router(wifidog_router)  # first: gateways' counters checks are the hottest route
    app.include_router(health_router)
    app.include_router(build_api_router())
    app.include_router(metrics_router)
    app.include_router(console_configs_router)
    app.include_router(console_campaigns_router)
    app.include_router(console_portal_router)
    app.include_router(console_jobs_router)
    app.include_router(console_content_router)
    app.include_router(console_router)
    app.include_router(console_root_router)
    app.include_router(portal_pages_router)
    app.include_router(content_public_router)
    app.include_router(provisioning_artifacts_router)
    return app


def build_app() -> FastAPI:
    """uvicorn factory (``station_controller.main:build_app``): settings from env, real MQTT ingest."""
    from .ingest.runtime import build_ingest  # late: the API can be built and tested without ingest

    settings = get_settings()
    engine = make_engine(settings.database_url)
    ingest = build_ingest(settings, make_session_factory(engine))
    return create_app(settings, ingest=ingest, engine=engine)
