"""The FastAPI application factory: wires settings, DB, ingest, routes and the error handler."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from . import __version__
from .api.health import router as health_router
from .api.ratelimit import FailureLimiter
from .api.router import build_api_router
from .commands.service import CommandPublisher
from .commands.waiters import ResultWaiters
from .console.routes import root_router as console_root_router
from .console.routes import router as console_router
from .db import make_engine, make_session_factory
from .errors import ControllerError, RateLimited
from .observability.routes import router as metrics_router
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
    settings: Settings, *, ingest: IngestRuntime | None = None, engine: Engine | None = None
) -> FastAPI:
    """Build the app; ``ingest`` (optional) is started and stopped with it, ``engine`` disposed on stop."""
    engine = engine or make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if ingest is not None:
            await run_in_threadpool(ingest.start)
        try:
            yield
        finally:
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
    app.state.login_limiter = FailureLimiter(limit=settings.login_attempts_per_minute)
    app.state.enroll_limiter = FailureLimiter(limit=settings.login_attempts_per_minute)
    app.add_exception_handler(ControllerError, _controller_error)
    app.include_router(health_router)
    app.include_router(build_api_router())
    app.include_router(metrics_router)
    app.include_router(console_router)
    app.include_router(console_root_router)
    return app


def build_app() -> FastAPI:
    """uvicorn factory (``station_controller.main:build_app``): settings from env, real MQTT ingest."""
    from .ingest.runtime import build_ingest  # late: the API can be built and tested without ingest

    settings = get_settings()
    engine = make_engine(settings.database_url)
    ingest = build_ingest(settings, make_session_factory(engine))
    return create_app(settings, ingest=ingest, engine=engine)
