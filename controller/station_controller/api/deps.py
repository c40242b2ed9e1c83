"""FastAPI dependencies: DB session, settings, the current staff user and role checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from ..auth.limits import LoginThrottle
from ..auth.models import StaffUser
from ..auth.service import require, user_for_token
from ..commands.service import CommandPublisher
from ..commands.waiters import ResultWaiters
from ..errors import AuthenticationRequired
from ..settings import Settings
from .origins import check_cookie_write
from .ratelimit import BackoffLimiter

SESSION_COOKIE = "sf_session"


def get_db(request: Request) -> Iterator[Session]:
    """One session per request; services commit, this only closes."""
    with request.app.state.session_factory() as session:
        yield session


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


DbSession = Annotated[Session, Depends(get_db)]
AppSettings = Annotated[Settings, Depends(get_settings)]


def bearer_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def request_token(request: Request) -> str | None:
    """The bearer token, else the console's session cookie."""
    return bearer_token(request) or request.cookies.get(SESSION_COOKIE) or None


def current_user(request: Request, session: DbSession, settings: AppSettings) -> StaffUser:
    """The staff user of the bearer token or the session cookie; cookie writes must pass the origin check."""
    token = bearer_token(request)
    if token is None:
        token = request.cookies.get(SESSION_COOKIE) or None
        if token is not None:
            check_cookie_write(request, settings)
    if token is None:
        raise AuthenticationRequired(
            "log in at POST /api/v1/auth/login and send 'Authorization: Bearer <token>'"
        )
    return user_for_token(session, token=token)


CurrentUser = Annotated[StaffUser, Depends(current_user)]


def require_role(role: str) -> Any:
    """Dependency marker: the current user, if their role is ``role`` or above."""

    def dependency(user: CurrentUser) -> StaffUser:
        require(user, role)
        return user

    return Depends(dependency)


Viewer = Annotated[StaffUser, require_role("viewer")]
Operator = Annotated[StaffUser, require_role("operator")]
Admin = Annotated[StaffUser, require_role("admin")]


def client_ip(request: Request) -> str:
    """The client's address: the TCP peer, or X-Forwarded-For only when the peer is one of
    ``forwarded_allow_ips`` (uvicorn's ProxyHeadersMiddleware in main.py rewrites it before us)."""
    return request.client.host if request.client else "unknown"


def _state(name: str) -> Callable[[Request], Any]:
    def get(request: Request) -> Any:
        return getattr(request.app.state, name)

    return get


Publisher = Annotated[CommandPublisher | None, Depends(_state("publisher"))]
Waiters = Annotated[ResultWaiters, Depends(_state("waiters"))]
LoginLimiter = Annotated[LoginThrottle, Depends(_state("login_limiter"))]
EnrollLimiter = Annotated[BackoffLimiter, Depends(_state("enroll_limiter"))]
