"""Staff-user dependencies: the current user (bearer token or console cookie), role gates, login limiter."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from ..api.deps import SESSION_COOKIE, AppSettings, DbSession, bearer_token, service
from ..api.origins import check_cookie_write
from ..errors import AuthenticationRequired
from .limits import LoginThrottle
from .models import StaffUser
from .service import require, user_for_token


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


async def get_login_limiter(request: Request) -> LoginThrottle:
    limiter: LoginThrottle = service(request, "login_limiter")
    return limiter


LoginLimiter = Annotated[LoginThrottle, Depends(get_login_limiter)]
