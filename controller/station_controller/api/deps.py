"""FastAPI dependencies every feature may use: DB session, settings, client address, composition objects.

This module imports no feature package (``api/`` is a leaf): feature-typed dependencies live with their
owner (``auth/deps.py``: the staff user and roles; ``commands/deps.py``: publisher and waiters; ...), and
each reads the composition root's objects through :func:`service`, the one place that reads ``app.state``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ..settings import Settings
from .ratelimit import BackoffLimiter

SESSION_COOKIE = "sf_session"


def service(request: Request, name: str) -> Any:
    """The long-lived object ``name`` (a field of ``composition.Services``) of this app.

    main.py puts every field of the one ``Services`` on ``app.state``; nothing else reads it.
    """
    return getattr(request.app.state, name)


def optional_service(request: Request, name: str) -> Any | None:
    """Like :func:`service`, for an object another feature offers (``Feature.services``): None when it
    is not installed."""
    return getattr(request.app.state, name, None)


async def get_session_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = service(request, "session_factory")
    return factory


SessionFactory = Annotated[sessionmaker[Session], Depends(get_session_factory)]


def get_db(factory: SessionFactory) -> Iterator[Session]:
    """One session per request; services commit, this only closes."""
    with factory() as session:
        yield session


async def get_settings(request: Request) -> Settings:
    settings: Settings = service(request, "settings")
    return settings


async def get_engine(request: Request) -> Engine:
    engine: Engine = service(request, "engine")
    return engine


async def get_enroll_limiter(request: Request) -> BackoffLimiter:
    limiter: BackoffLimiter = service(request, "enroll_limiter")
    return limiter


DbSession = Annotated[Session, Depends(get_db)]
AppSettings = Annotated[Settings, Depends(get_settings)]
AppEngine = Annotated[Engine, Depends(get_engine)]
EnrollLimiter = Annotated[BackoffLimiter, Depends(get_enroll_limiter)]


def bearer_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def request_token(request: Request) -> str | None:
    """The bearer token, else the console's session cookie."""
    return bearer_token(request) or request.cookies.get(SESSION_COOKIE) or None


def client_ip(request: Request) -> str:
    """The client's address: the TCP peer, or X-Forwarded-For only when the peer is one of
    ``forwarded_allow_ips`` (uvicorn's ProxyHeadersMiddleware in main.py rewrites it before us)."""
    return request.client.host if request.client else "unknown"
