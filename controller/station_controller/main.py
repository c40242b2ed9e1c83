"""The FastAPI application factory: the composition root's services, the routers, the error handler."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from . import __version__, supervisor
from .api.health import router as health_router
from .campaigns.payloads import PayloadAction
from .composition import IngestRuntime, Services, build_event_handlers, build_payloads, build_services
from .db import make_engine, make_session_factory
from .errors import ControllerError, RateLimited
from .observability.routes import router as metrics_router
from .plugins import Feature, Mount, discover_features, nav_links, template_dirs
from .settings import Settings, get_settings
from .web import html_error, install_features, wants_html

log = logging.getLogger(__name__)


API_PREFIX = "/api/v1"
# The app's own routes; features add theirs (plugins.Feature.routers), matched by priority.
CORE_MOUNTS = (Mount(health_router, priority=10), Mount(metrics_router, priority=30))
API_PRIORITY = 20


def build_api_router(features: list[Feature]) -> APIRouter:
    """Every feature's JSON API under API_PREFIX, in feature order."""
    router = APIRouter(prefix=API_PREFIX)
    for feature in features:
        for api in feature.api_routers:
            router.include_router(api)
    return router


async def _controller_error(request: Request, exc: Exception) -> Response:
    """JSON for the API; a console (or portal) page's error is an HTML page (web/errors.py)."""
    assert isinstance(exc, ControllerError)
    if wants_html(request):
        return await run_in_threadpool(html_error, request, exc)  # may read the DB
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
    features = discover_features()
    services = build_services(
        settings,
        features=features,
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
    _include_routers(app, features)
    install_features(nav=nav_links(features), template_dirs=template_dirs(features))
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
        for part in services.background:
            await run_in_threadpool(part.start)
        try:
            yield
        finally:
            for part in reversed(services.background):
                await run_in_threadpool(part.stop)
            await run_in_threadpool(services.job_runner.stop)
            await run_in_threadpool(services.wifidog.stop)
            if scheduler is not None:
                await run_in_threadpool(scheduler.stop)
            if ingest is not None:
                await run_in_threadpool(ingest.stop)
            services.engine.dispose()

    return lifespan


def _include_routers(app: FastAPI, features: list[Feature]) -> None:
    mounts = [*CORE_MOUNTS, Mount(build_api_router(features), priority=API_PRIORITY)]
    mounts += [mount for feature in features for mount in feature.routers]
    for mount in sorted(mounts, key=lambda m: m.priority):  # stable: feature order within a priority
        app.include_router(mount.router)


def build_app() -> FastAPI:
    """uvicorn factory (``station_controller.main:build_app``): settings from env, real MQTT ingest."""
    from .ingest.runtime import build_ingest  # late: the API can be built and tested without ingest

    settings = get_settings()
    engine = make_engine(settings.database_url)
    features = discover_features()
    payloads = build_payloads(settings, features)  # one registry for the API and the ingest's events
    factory = make_session_factory(engine)
    ingest = build_ingest(settings, factory, handlers=build_event_handlers(factory, payloads, features))
    return create_app(settings, ingest=ingest, engine=engine, payloads=payloads)
