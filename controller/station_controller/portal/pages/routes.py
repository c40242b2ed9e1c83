"""Phone-facing portal routes under ``/portal/``: splash landing, SMS code, voucher, one-tap return."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request, Response

from ...api.deps import AppSettings, DbSession, client_ip
from ...commands.deps import Publisher
from ...errors import ControllerError
from ...settings import Settings
from ...web import show_errors_with
from .. import login
from ..deps import Sms, VoucherLimiter
from ..errors import LoginExpired, VoucherRejected
from ..models import PendingLogin
from ..service import Granted
from ..tokens import form_token, form_token_ok
from .i18n import translator
from .render import lang_of, message, render, safe_link

log = logging.getLogger(__name__)
router = APIRouter(prefix="/portal", include_in_schema=False)
FormStr = Annotated[str, Form()]


def _secret(settings: Settings) -> str:
    return settings.secret_key.get_secret_value()


def login_page(
    request: Request,
    session: Any,
    settings: Settings,
    token: str,
    lang: str,
    *,
    status_code: int = 200,
    error: ControllerError | None = None,
    **context: Any,
) -> Response:
    pending = login.load_pending(session, token=token)
    returning = login.returning_session(session, settings=settings, pending=pending)
    full = {
        "login": token,
        "csrf": form_token(_secret(settings), token),
        "returning": returning is not None,
        "phone": "",
        "code_sent": False,
        "error": error.detail if error else None,
        "error_page": getattr(error, "page", "error") if error else None,
        "error_code": error.code if error else None,
        **context,
    }
    return render(request, "login.html", full, lang=lang, status_code=status_code)


def _failure(
    request: Request,
    session: Any,
    settings: Settings,
    token: str,
    lang: str,
    exc: ControllerError,
    **context: Any,
) -> Response:
    """Show the error on the login form while the pending login lives, else as a message page."""
    try:
        return login_page(
            request, session, settings, token, lang, status_code=exc.status, error=exc, **context
        )
    except LoginExpired:
        return message(
            request,
            getattr(exc, "page", "error"),
            lang=lang,
            status_code=exc.status,
            detail=exc.detail,
            extra=exc.extra,
        )


def _gateway_url(pending: PendingLogin, token: str) -> str | None:
    """``http://{gw_address}:{gw_port}/wifidog/auth?token=`` for a wifidog login (IP literal only)."""
    try:
        address = ipaddress.ip_address(pending.gw_address or "")
    except ValueError:
        return None
    if not pending.gw_port or not 0 < pending.gw_port < 65536:
        return None
    host = f"[{address}]" if address.version == 6 else str(address)
    query = urlencode({"token": token, "gw_id": pending.gateway})
    return f"http://{host}:{pending.gw_port}/wifidog/auth?{query}"


def _connected(request: Request, pending: PendingLogin, granted: Granted, lang: str) -> Response:
    context: dict[str, Any] = {"expires_at": granted.session.expires_at, "link": None, "gateway_url": None}
    if granted.wifidog_token is not None:
        context["gateway_url"] = _gateway_url(pending, granted.wifidog_token)
    else:
        context["link"] = safe_link(pending.url)
    return render(request, "connected.html", context, lang=lang)


def _guarded(
    request: Request,
    session: Any,
    settings: Settings,
    token: str,
    csrf: str,
    lang: str,
    action: Callable[[PendingLogin], Response],
    **context: Any,
) -> Response:
    """Run one form action: form token first, then the action; domain errors are shown on the form
    (by the one HTML error handler, with a fresh session: see web/errors.py)."""
    lang = lang_of(request, lang)
    if not form_token_ok(_secret(settings), token, csrf):
        log.warning("portal form with a bad form token from %s", client_ip(request))
        return message(request, "login_expired", lang=lang, status_code=403)
    show_errors_with(
        request, lambda exc, fresh: _failure(request, fresh, settings, token, lang, exc, **context)
    )
    pending = login.load_pending(session, token=token)
    return action(pending)


@router.get("/")
def landing(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    gw: str = "",
    mac: str = "",
    ip: str = "",
    url: str = "",
    ts: str = "",
    sig: str = "",
) -> Response:
    """The splash redirect's target: verify the router's HMAC, open a pending login, show the form."""
    lang = lang_of(request)
    show_errors_with(
        request,
        lambda exc, _fresh: message(
            request, getattr(exc, "page", "error"), lang=lang, status_code=exc.status, detail=exc.detail
        ),
    )
    token, _pending = login.start_native(
        session,
        settings=settings,
        gw=gw[:64],
        mac=mac[:32],
        ip=ip[:45],
        url=url,
        ts=ts[:20],
        sig=sig[:128],
    )
    return login_page(request, session, settings, token, lang)


@router.post("/resume")
def resume(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    login_token: Annotated[str, Form(alias="login")] = "",
    csrf: FormStr = "",
    lang: FormStr = "",
) -> Response:
    """The same login form again (e.g. in the other language)."""
    return _guarded(
        request,
        session,
        settings,
        login_token,
        csrf,
        lang,
        lambda _p: login_page(request, session, settings, login_token, lang_of(request, lang)),
    )


@router.post("/sms/send")
def sms_send(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    sender: Sms,
    login_token: Annotated[str, Form(alias="login")] = "",
    csrf: FormStr = "",
    lang: FormStr = "",
    phone: FormStr = "",
) -> Response:
    language = lang_of(request, lang)

    def action(_pending: PendingLogin) -> Response:
        number = login.send_code(
            session,
            settings=settings,
            sender=sender,
            token=login_token,
            phone=phone,
            source_ip=client_ip(request),
        )
        notice = translator(language)("code_sent")
        return login_page(
            request, session, settings, login_token, language, phone=number, code_sent=True, notice=notice
        )

    return _guarded(request, session, settings, login_token, csrf, lang, action, phone=phone[:16])


@router.post("/sms/verify")
def sms_verify(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    publisher: Publisher,
    login_token: Annotated[str, Form(alias="login")] = "",
    csrf: FormStr = "",
    lang: FormStr = "",
    phone: FormStr = "",
    code: FormStr = "",
    accept_terms: FormStr = "",
) -> Response:
    language = lang_of(request, lang)

    def action(pending: PendingLogin) -> Response:
        granted = login.verify_code(
            session,
            settings=settings,
            publisher=publisher,
            token=login_token,
            phone=phone,
            code=code[:12],
            accepted_terms=accept_terms == "1",
        )
        return _connected(request, pending, granted, language)

    return _guarded(
        request, session, settings, login_token, csrf, lang, action, phone=phone[:16], code_sent=True
    )


@router.post("/voucher")
def voucher(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    publisher: Publisher,
    limiter: VoucherLimiter,
    login_token: Annotated[str, Form(alias="login")] = "",
    csrf: FormStr = "",
    lang: FormStr = "",
    code: FormStr = "",
    accept_terms: FormStr = "",
) -> Response:
    language = lang_of(request, lang)

    def action(pending: PendingLogin) -> Response:
        keys = (f"voucher-mac:{pending.mac}", f"voucher-ip:{client_ip(request)}")
        limiter.check(*keys)
        try:
            granted = login.voucher_login(
                session,
                settings=settings,
                publisher=publisher,
                token=login_token,
                code=code[:32],
                accepted_terms=accept_terms == "1",
            )
        except VoucherRejected:
            limiter.failed(*keys)
            raise
        return _connected(request, pending, granted, language)

    return _guarded(request, session, settings, login_token, csrf, lang, action)


@router.post("/continue")
def continue_session(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    publisher: Publisher,
    login_token: Annotated[str, Form(alias="login")] = "",
    csrf: FormStr = "",
    lang: FormStr = "",
    accept_terms: FormStr = "",
) -> Response:
    language = lang_of(request, lang)

    def action(pending: PendingLogin) -> Response:
        granted = login.continue_login(
            session,
            settings=settings,
            publisher=publisher,
            token=login_token,
            accepted_terms=accept_terms == "1",
        )
        return _connected(request, pending, granted, language)

    return _guarded(request, session, settings, login_token, csrf, lang, action)


@router.get("/terms")
def terms(request: Request, settings: AppSettings) -> Response:
    return render(request, "terms.html", {"version": settings.portal_terms_version}, lang=lang_of(request))


@router.get("/message")
def message_page(request: Request, m: str = "error") -> Response:
    """Info pages: denied, quota, expired, unreachable (the router's own offline page may link here)."""
    return message(request, m, lang=lang_of(request), status_code=200)
