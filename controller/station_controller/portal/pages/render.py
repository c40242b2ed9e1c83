"""Rendering of portal pages: own Jinja2 environment (autoescaped), language, headers, safe links."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request, Response

from ...web.templating import make_templates
from .i18n import LANG_COOKIE, MESSAGE_PAGES, pick_lang, translator

TEMPLATE_DIR = Path(__file__).parent / "templates"
# No script at all; inline styles only (one small page for slow links and captive mini-browsers).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


templates = make_templates([TEMPLATE_DIR])


def lang_of(request: Request, form_lang: str | None = None) -> str:
    return pick_lang(form_lang or request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))


def safe_link(url: str) -> str | None:
    """The signed original URL as a link target, only if it is an absolute http(s) URL with a host.

    ``javascript:``, ``data:``, scheme-relative ``//host`` and relative paths are never offered.
    """
    if not url or any(ch in url for ch in "\r\n\t\\") or len(url) > 2048:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def render(
    request: Request, name: str, context: dict[str, Any], *, lang: str, status_code: int = 200
) -> Response:
    full = {"t": translator(lang), "lang": lang, "other_lang": "en" if lang == "zh" else "zh", **context}
    response = templates.TemplateResponse(request, name, full, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    return response


def message(
    request: Request,
    page: str,
    *,
    lang: str,
    status_code: int,
    detail: str = "",
    extra: dict[str, Any] | None = None,
) -> Response:
    """A message page (``page`` is one of i18n.MESSAGE_PAGES; unknown → ``error``)."""
    page = page if page in MESSAGE_PAGES else "error"
    context = {"page": page, "detail": detail, "extra": extra or {}}
    return render(request, "message.html", context, lang=lang, status_code=status_code)
