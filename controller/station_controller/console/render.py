"""The console's own pages render through the web kit with the console's label table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request, Response
from sqlalchemy.orm import Session

from ..auth.models import StaffUser
from ..auth.service import role_allows, user_for_token
from ..errors import AuthenticationRequired, PermissionDenied
from ..settings import Settings
from ..web import csrf, pages
from ..web.pages import (
    Flash,
    error_page,
    install_features,
    lang_of,
    page_labels,
    safe_next,
    secure_cookies,
    to_login,
)
from ..web.static import STATIC_FILES, static_url
from .i18n import MESSAGES

__all__ = [
    "STATIC_FILES",
    "Flash",
    "error_page",
    "install_features",
    "lang_of",
    "page_labels",
    "render",
    "safe_next",
    "secure_cookies",
    "static_url",
    "to_login",
]


def render(request: Request, name: str, context: Mapping[str, Any], **kwargs: Any) -> Response:
    return pages.render(request, name, context, labels=MESSAGES, **kwargs)


def console_user(request: Request, session: Session) -> StaffUser | None:
    token = request.cookies.get(csrf.SESSION_COOKIE)
    if not token:
        return None
    try:
        return user_for_token(session, token=token)
    except AuthenticationRequired:
        return None


def require_operator_form(request: Request, user: StaffUser, token: str, *, settings: Settings) -> None:
    if not role_allows(user.role, "operator"):
        raise PermissionDenied("this needs the operator role; ask an admin")
    if not csrf.valid(request, token, secret=settings.secret_key.get_secret_value()):
        raise PermissionDenied("the form expired; reload the page and try again")
