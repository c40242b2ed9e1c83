"""Console page rendering for every feature: the shared context (labels, user, form token, menu),
cookies, security headers, the login redirect and the error page.

A feature's page calls :func:`render` with a template from its own ``templates/`` folder (declared in
``plugins.Feature.template_dirs``; it ``{% extends "base.html" %}``, which lives here).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from jinja2 import FileSystemLoader

from ..auth.models import StaffUser
from ..auth.service import role_allows
from ..errors import ControllerError
from ..settings import Settings
from . import csrf
from .i18n import LANG_COOKIE, LabelTable, console_translator, pick_lang
from .static import static_url
from .templating import make_templates

CONSOLE_PREFIX = "/console"
LOGIN_PATH = "/console/login"
# Where a user lands after logging in (and when ``next`` is missing or unsafe): one constant to change.
LANDING_PATH = "/console/overview/"  # the overview feature (overview/console_pages.py)

TEMPLATE_DIR = Path(__file__).parent / "templates"
templates = make_templates([TEMPLATE_DIR])
templates.env.globals["nav"] = []
templates.env.globals["role_allows"] = role_allows
templates.env.globals["landing_path"] = LANDING_PATH

SECURITY_HEADERS = {
    # Scripts and styles come only from /console/static; nothing inline runs, nothing frames us.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def install_features(*, nav: Sequence[Any], template_dirs: Sequence[Path]) -> None:
    """The features' menu entries (``plugins.NavLink``) and template folders join the console's
    (main.create_app calls this once per app; repeating it is harmless)."""
    loader = templates.env.loader
    assert isinstance(loader, FileSystemLoader)
    for directory in template_dirs:
        if str(directory) not in loader.searchpath:
            loader.searchpath.append(str(directory))
    templates.env.globals["nav"] = list(nav)


@dataclass(frozen=True)
class Flash:
    kind: str  # ok | error
    text: str


def secure_cookies(settings: Settings) -> bool:
    return settings.public_url.startswith("https://")


def lang_of(request: Request) -> str:
    return pick_lang(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))


def is_console_page(request: Request) -> bool:
    """An HTML console page (errors become pages); ``*.json`` polling endpoints answer JSON."""
    path = request.url.path
    return (path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")) and not path.endswith(".json")


def to_login(request: Request) -> RedirectResponse:
    """Redirect to the login page, remembering where the user wanted to go."""
    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(LOGIN_PATH + "?" + urlencode({"next": wanted}), status_code=303)


def safe_next(value: str | None) -> str:
    """Only console paths are followed after login (no open redirect to another site)."""
    if value and value.startswith("/console/") and not value.startswith("//") and "\\" not in value:
        return value
    return LANDING_PATH


def _lang_switch_url(request: Request, lang: str) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    params.append(("lang", "en" if lang == "zh" else "zh"))
    return request.url.path + "?" + urlencode(params)


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    *,
    settings: Settings,
    user: StaffUser | None,
    status_code: int = 200,
    flash: Flash | None = None,
    labels: LabelTable | None = None,
    login_form: bool = False,
) -> Response:
    """Render ``name`` with the shared context (``t`` over the common labels and ``labels``, user,
    form token ``csrf``, ``can_operate``, menu) and the console's security headers."""
    lang = lang_of(request)
    token, new_nonce = csrf.token_for(
        request, secret=settings.secret_key.get_secret_value(), login=login_form
    )
    full = {
        "t": console_translator(lang, labels),
        "lang": lang,
        "user": user,
        "csrf": token,
        "flash": flash,
        "can_operate": user is not None and role_allows(user.role, "operator"),
        "static_url": static_url,
        "lang_switch_url": _lang_switch_url(request, lang),
        **context,
    }
    response = templates.TemplateResponse(request, name, full, status_code=status_code)
    secure = secure_cookies(settings)
    if new_nonce:
        response.set_cookie(
            csrf.NONCE_COOKIE, new_nonce, httponly=True, samesite="strict", secure=secure, path="/console"
        )
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", secure=secure, path="/")
    response.headers.update(SECURITY_HEADERS)
    return response


def error_page(
    request: Request, exc: ControllerError, *, settings: Settings, user: StaffUser | None
) -> Response:
    """The domain error as an HTML page with its status (404 unknown id, 403 role or form token)."""
    t = console_translator(lang_of(request))
    title = {404: t("not_found"), 403: t("forbidden")}.get(exc.status, t("error"))
    return render(
        request,
        "error.html",
        {"title": title, "detail": exc.detail},
        settings=settings,
        user=user,
        status_code=exc.status,
    )


def page_labels(request: Request, table: Mapping[str, tuple[str, str]]) -> Callable[[str], str]:
    """A feature page's own label table, ``key → (zh-CN, English)``, in the request's language."""
    index = 0 if lang_of(request) == "zh" else 1

    def label(key: str) -> str:
        pair = table.get(key)
        return pair[index] if pair else key

    return label
