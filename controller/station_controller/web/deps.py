"""Typed dependencies of console pages: the logged-in staff user, role gates and the form's CSRF check.

A page that needs a user declares ``user: ConsoleUser`` (or ``ConsoleOperator`` / ``ConsoleAdmin`` /
``Annotated[StaffUser, require_console_role("auditor")]``); a form post adds ``_csrf: CsrfToken``.
Failures raise domain errors that the console's one HTML error handler (``web/errors.py``) turns into
the login redirect (AuthenticationRequired) or the error page (PermissionDenied, 403).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Request

from ..api.deps import AppSettings, DbSession
from ..auth.models import StaffUser
from ..auth.service import role_allows, user_for_token
from ..errors import AuthenticationRequired, PermissionDenied
from . import csrf
from .i18n import console_translator
from .pages import lang_of

STATE_USER = "console_user"  # request.state attribute the error handler renders the menu with
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def optional_console_user(request: Request, session: DbSession) -> StaffUser | None:
    """The logged-in staff user from the console cookie, or None (expired, unknown, absent)."""
    token = request.cookies.get(csrf.SESSION_COOKIE)
    user = None
    if token:
        try:
            user = user_for_token(session, token=token)
        except AuthenticationRequired:
            user = None
    setattr(request.state, STATE_USER, user)
    return user


OptionalConsoleUser = Annotated[StaffUser | None, Depends(optional_console_user)]


def console_user(user: OptionalConsoleUser) -> StaffUser:
    """The logged-in staff user; AuthenticationRequired (→ the login page) without one."""
    if user is None:
        raise AuthenticationRequired("log in again")
    return user


ConsoleUser = Annotated[StaffUser, Depends(console_user)]


def require_console_role(role: str) -> Any:
    """Dependency marker: the logged-in user, if their role is ``role`` or above (else 403)."""

    def dependency(user: ConsoleUser) -> StaffUser:
        if not role_allows(user.role, role):
            raise PermissionDenied(
                f"this needs the {role} role; {user.username} is {user.role}; ask an admin"
            )
        return user

    return Depends(dependency)


ConsoleViewer = Annotated[StaffUser, require_console_role("viewer")]
ConsoleOperator = Annotated[StaffUser, require_console_role("operator")]
ConsoleAdmin = Annotated[StaffUser, require_console_role("admin")]


def check_csrf(
    request: Request, settings: AppSettings, token: Annotated[str, Form(alias="csrf")] = ""
) -> str:
    """The posted form's ``csrf`` field, checked against this browser's session cookie (403 if stale)."""
    if request.method not in SAFE_METHODS and not csrf.valid(
        request, token, secret=settings.secret_key.get_secret_value()
    ):
        raise PermissionDenied(console_translator(lang_of(request))("csrf_failed"))
    return token


CsrfToken = Annotated[str, Depends(check_csrf)]
