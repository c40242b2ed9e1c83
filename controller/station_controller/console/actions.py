"""Console form handlers: log in / out, send a command, revoke, re-issue a token (all CSRF-checked)."""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from station_protocol import commands as wire

from ..api.deps import AppSettings, DbSession, client_ip
from ..auth import service as auth_service
from ..auth.deps import LoginLimiter
from ..auth.models import StaffUser
from ..commands.deps import Publisher
from ..commands.service import send_command
from ..enrollment.service import reissue_token, revoke
from ..errors import AuthenticationRequired, ControllerError, RateLimited
from ..settings import Settings
from ..web import (
    LANDING_PATH,
    ConsoleOperator,
    CsrfToken,
    Flash,
    OptionalConsoleUser,
    csrf,
    lang_of,
    safe_next,
    secure_cookies,
    show_errors_with,
)
from . import service
from .i18n import translator
from .render import render

log = logging.getLogger(__name__)

router = APIRouter()

CONSOLE_COMMANDS = (wire.PING, wire.DIAGNOSTICS, wire.REBOOT)
CsrfField = Annotated[str, Form(alias="csrf")]  # login and logout check it themselves


def _login_page(
    request: Request,
    *,
    settings: Settings,
    error: str = "",
    username: str = "",
    next_url: str = LANDING_PATH,
    status_code: int = 200,
) -> Response:
    context = {"error": error, "username": username, "next_url": safe_next(next_url)}
    return render(
        request, "login.html", context, settings=settings, user=None, status_code=status_code, login_form=True
    )


@router.get("/login")
def login_form(
    request: Request, user: OptionalConsoleUser, settings: AppSettings, next: str = LANDING_PATH
) -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, settings=settings, next_url=next)


@router.post("/login")
def login_submit(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    limiter: LoginLimiter,
    token: CsrfField = "",
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = LANDING_PATH,
) -> Response:
    t = translator(lang_of(request))
    secret = settings.secret_key.get_secret_value()

    def failed(message: str, status_code: int) -> Response:
        return _login_page(
            request,
            settings=settings,
            error=t(message),
            username=username[:64],
            next_url=next,
            status_code=status_code,
        )

    if not csrf.valid(request, token, secret=secret, login=True):
        return failed("csrf_failed", 403)
    source = client_ip(request)  # failures delay this (account, source) only: auth/limits.py
    try:
        limiter.check(username[:64], source)
        session_token, record = auth_service.login(
            session, settings=settings, username=username[:64], password=password[:256]
        )
    except RateLimited as exc:
        page = failed("login_rate_limited", 429)
        page.headers["retry-after"] = str(max(1, round(exc.retry_after_s)))
        return page
    except AuthenticationRequired:
        limiter.failed(username[:64], source)
        return failed("login_failed", 401)
    limiter.succeeded(username[:64], source)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        csrf.SESSION_COOKIE,
        session_token,
        max_age=int(settings.staff_session_ttl_s),
        httponly=True,
        samesite="strict",
        secure=secure_cookies(settings),
        path="/",
    )
    log.info("staff user %s logged in to the console", record.user.username)
    return response


@router.post("/logout")
def logout(request: Request, session: DbSession, settings: AppSettings, token: CsrfField = "") -> Response:
    session_token = request.cookies.get(csrf.SESSION_COOKIE)
    if session_token and csrf.valid(request, token, secret=settings.secret_key.get_secret_value()):
        auth_service.logout(session, token=session_token)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(csrf.SESSION_COOKIE, path="/", samesite="strict", httponly=True)
    return response


def _show_errors_on_device_page(
    request: Request, settings: Settings, user: StaffUser, device_id: str
) -> None:
    """A failed action re-renders the device page with the error flashed (the error page if it is gone)."""

    def view(exc: ControllerError, session: Session) -> Response:
        context = service.device_view(session, device_id=device_id)
        flash = Flash("error", exc.detail)
        return render(
            request, "device.html", context, settings=settings, user=user, status_code=exc.status, flash=flash
        )

    show_errors_with(request, view)


@router.post("/devices/{device_id}/commands")
def device_command(
    request: Request,
    device_id: str,
    user: ConsoleOperator,
    _csrf: CsrfToken,
    session: DbSession,
    settings: AppSettings,
    publisher: Publisher,
    name: Annotated[str, Form()] = "",
) -> Response:
    if name not in CONSOLE_COMMANDS:
        return Response("unknown command", status_code=422, media_type="text/plain")
    _show_errors_on_device_page(request, settings, user, device_id)
    send_command(
        session,
        settings=settings,
        publisher=publisher,
        device_id=device_id,
        name=name,
        created_by=user.username,
    )
    log.info("%s command %s sent from the console by %s", device_id, name, user.username)
    return RedirectResponse(f"/console/devices/{quote(device_id)}?done=command", status_code=303)


@router.post("/devices/{device_id}/revoke")
def device_revoke(
    request: Request,
    device_id: str,
    user: ConsoleOperator,
    _csrf: CsrfToken,
    session: DbSession,
    settings: AppSettings,
) -> Response:
    _show_errors_on_device_page(request, settings, user, device_id)
    revoke(session, settings=settings, device_id=device_id)
    log.warning("%s revoked from the console by %s", device_id, user.username)
    return RedirectResponse(f"/console/devices/{quote(device_id)}?done=revoked", status_code=303)


@router.post("/devices/{device_id}/token")
def device_reissue(
    request: Request,
    device_id: str,
    user: ConsoleOperator,
    _csrf: CsrfToken,
    session: DbSession,
    settings: AppSettings,
) -> Response:
    """Shows the new one-time token in this response only (never in a URL or a later page)."""
    _show_errors_on_device_page(request, settings, user, device_id)
    _device, new_token = reissue_token(session, settings=settings, device_id=device_id)
    log.info("%s token re-issued from the console by %s", device_id, user.username)
    context = {**service.device_view(session, device_id=device_id), "new_token": new_token}
    return render(request, "device.html", context, settings=settings, user=user)
