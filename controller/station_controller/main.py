"""The FastAPI application factory: the composition root's services, the routers, the error handler."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from . import __version__, supervisor
from .api.health import router as health_router
from .auth.routes import router as auth_router
from .campaigns.payloads import PayloadAction
from .campaigns.routes import router as campaigns_router
from .commands.routes import router as commands_router
from .composition import IngestRuntime, Services, build_event_handlers, build_payloads, build_services
from .console.campaign_routes import router as console_campaigns_router
from .console.config_routes import router as console_configs_router
from .console.content_routes import router as console_content_router
from .console.jobs_routes import router as console_jobs_router
from .console.portal_routes import router as console_portal_router
from .console.routes import root_router as console_root_router
from .console.routes import router as console_router
from .content.routes import public_router as content_public_router
from .content.routes import router as content_router
from .db import make_engine, make_session_factory
from .enrollment.routes import router as enrollment_router
from .errors import ControllerError, RateLimited
from .observability.routes import router as metrics_router
from .portal.pages.routes import router as portal_pages_router
from .portal.routes import router as portal_router
from .portal.wifidog.routes import router as wifidog_router
from .provisioning.artifacts import router as provisioning_artifacts_router
from .provisioning.configs.routes import router as provisioning_configs_router
from .provisioning.jobs.routes import router as provisioning_jobs_router
from .provisioning.routes import router as provisioning_router
from .registry.routes import router as registry_router
from .settings import Settings, get_settings
from .tsdb.routes import router as history_router

log = logging.getLogger(__name__)


API_PREFIX = "/api/v1"
# Every feature's JSON API, under API_PREFIX, in this order.
API_ROUTERS = (
    auth_router,
    registry_router,
    enrollment_router,
    commands_router,
    history_router,
    portal_router,
    content_router,
    campaigns_router,
    provisioning_jobs_router,
    provisioning_router,
    provisioning_configs_router,
)


def build_api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    for feature in API_ROUTERS:
        router.include_router(feature)
    return router


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
    payloads: Mapping[str, PayloadAction] | None = None,
) -> FastAPI:
    """Build the app; ``ingest`` (optional) is started and stopped with it, ``engine`` disposed on stop.

    ``wifidog_clock`` (epoch seconds) times WiFiDog decisions: tests drive idle timeouts with it.
    ``payloads`` is the campaign payload registry shared with the ingest (default: built here).
    """
    supervisor.configure(
        min_backoff_s=settings.thread_restart_min_s, max_backoff_s=settings.thread_restart_max_s
    )
    services = build_services(
        settings,
        engine=engine or make_engine(settings.database_url),
        ingest=ingest,
        payloads=payloads,
        wifidog_clock=wifidog_clock,
    )
    app = FastAPI(title="Station Fleet controller", version=__version__, lifespan=_lifespan(services))
    for name, value in services.items():  # read only by api/deps.py:service
        setattr(app.state, name, value)
    app.add_exception_handler(ControllerError, _controller_error)
    if settings.forwarded_allow_ips:
        # X-Forwarded-For only from the configured proxies; request.client is then the real client.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    _include_routers(app)
    return app


def _lifespan(services: Services) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start the background parts with the app and stop them in reverse order."""
    ingest, scheduler = services.ingest, services.campaign_scheduler

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if ingest is not None:
            await run_in_threadpool(ingest.start)
        if scheduler is not None:
            scheduler.start()
        await run_in_threadpool(services.wifidog.start)
        # marks devices a previous process left running as interrupted
        await run_in_threadpool(services.job_runner.start)
        try:
            yield
        finally:
            await run_in_threadpool(services.job_runner.stop)
            await run_in_threadpool(services.wifidog.stop)
            if scheduler is not None:
                await run_in_threadpool(scheduler.stop)
            if ingest is not None:
                await run_in_threadpool(ingest.stop)
            services.engine.dispose()

    return lifespan


def _include_routers(app: FastAPI) -> None:
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


def build_app() -> FastAPI:
    """uvicorn factory (``station_controller.main:build_app``): settings from env, real MQTT ingest."""
    from .ingest.runtime import build_ingest  # late: the API can be built and tested without ingest

    settings = get_settings()
    engine = make_engine(settings.database_url)
    payloads = build_payloads(settings)  # one registry for the API and the ingest's campaign events
    factory = make_session_factory(engine)
    ingest = build_ingest(settings, factory, handlers=build_event_handlers(factory, payloads))
    return create_app(settings, ingest=ingest, engine=engine, payloads=payloads)
