"""Cross-site checks for ``/api/v1`` writes authenticated by the console's cookie (not by a bearer token).

A browser attaches the session cookie to requests that another site triggers; the cookie is
``SameSite=Strict``, but a sibling host of the same site, an old browser or a proxy that rewrites cookies
would still let a forged POST through. So a cookie-only write must also show that it comes from the
controller's own pages: an ``Origin`` (or, when a browser sends none, ``Referer``) equal to the origin of
``public_url`` or one of ``trusted_origins``, or an ``X-CSRF-Token`` header with the console's form token.
Bearer-token clients (stationctl, scripts) are not affected: another site cannot make a browser send one.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from fastapi import Request

from ..errors import PermissionDenied
from ..kernel import csrf
from ..settings import Settings

log = logging.getLogger(__name__)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL (lower case, default port dropped); None if it has none."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + (f":{port}" if port and port != DEFAULT_PORTS[scheme] else "")


def allowed_origins(settings: Settings) -> frozenset[str]:
    candidates = [settings.public_url, *settings.trusted_origins]
    return frozenset(o for o in (origin_of(c) for c in candidates) if o)


def _claimed_origin(request: Request) -> str | None:
    origin = request.headers.get("origin")
    if origin is not None:
        return origin_of(origin)  # "null" (sandboxed or privacy-redirected) → None → refused
    referer = request.headers.get("referer")
    return origin_of(referer) if referer else None


def check_cookie_write(request: Request, settings: Settings) -> None:
    """Raise PermissionDenied unless this cookie-authenticated write comes from the controller's pages."""
    if request.method in SAFE_METHODS:
        return
    token = request.headers.get(CSRF_HEADER, "")
    if token and csrf.valid(request, token, secret=settings.secret_key.get_secret_value()):
        return
    allowed = allowed_origins(settings)
    claimed = _claimed_origin(request)
    if claimed is not None and claimed in allowed:
        return
    log.warning("cookie-authenticated %s %s refused: origin %r", request.method, request.url.path, claimed)
    raise PermissionDenied(
        "a write with the console's session cookie needs an Origin or Referer of "
        f"{sorted(allowed)} (STATION_TRUSTED_ORIGINS adds more) or the console's X-CSRF-Token header; "
        "scripts and stationctl send 'Authorization: Bearer <token>' instead"
    )
