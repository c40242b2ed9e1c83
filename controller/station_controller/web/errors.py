"""The console's one HTML error handler: a console page that raises a ControllerError is answered here.

The page the route registered with :func:`show_errors_with` (e.g. the form's page with the error
flashed), else AuthenticationRequired → the login page (remembering the page), else the error page with
the error's status. main.py calls :func:`html_error` when :func:`wants_html` (console pages, and pages
that registered a view such as the portal's phone pages); the JSON API and the console's ``*.json``
polling endpoints keep the JSON handler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import Request, Response
from sqlalchemy.orm import Session, sessionmaker

from ..api.deps import service
from ..auth.models import StaffUser
from ..errors import AuthenticationRequired, ControllerError
from ..settings import Settings
from .deps import STATE_USER
from .pages import error_page, is_console_page, to_login

log = logging.getLogger(__name__)
STATE_VIEW = "console_error_view"

# Renders the page to show instead of the error page; gets the error and a fresh session (the
# request's own may hold a failed transaction). It may raise ControllerError → the error page.
ErrorView = Callable[[ControllerError, Session], Response]


def show_errors_with(request: Request, view: ErrorView) -> None:
    """From here on, a ControllerError of this request is shown by ``view`` (e.g. flashed on its form)."""
    setattr(request.state, STATE_VIEW, view)


def wants_html(request: Request) -> bool:
    """A console page, or any page whose route registered an error view (e.g. the portal's phone pages)."""
    return is_console_page(request) or getattr(request.state, STATE_VIEW, None) is not None


def html_error(request: Request, exc: ControllerError) -> Response:
    """The page for ``exc``: the route's error view, else the login redirect or the error page."""
    view: ErrorView | None = getattr(request.state, STATE_VIEW, None)
    if view is not None:
        factory: sessionmaker[Session] = service(request, "session_factory")
        with factory() as session:
            try:
                return view(exc, session)
            except ControllerError as shown:  # the form's page is gone too: show that instead
                exc = shown
    if isinstance(exc, AuthenticationRequired):
        return to_login(request)
    settings: Settings = service(request, "settings")
    user: StaffUser | None = getattr(request.state, STATE_USER, None)
    return error_page(request, exc, settings=settings, user=user)
