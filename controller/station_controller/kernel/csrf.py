"""Form tokens against cross-site posts: HMAC of the session cookie (or of a pre-login nonce cookie)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request

NONCE_COOKIE = "sf_csrf"
SESSION_COOKIE = "sf_session"


def _sign(secret: str, binding: str) -> str:
    return hmac.new(secret.encode(), b"console-csrf:" + binding.encode(), hashlib.sha256).hexdigest()


def _binding(request: Request, *, login: bool) -> str | None:
    # The login form binds to the nonce only, so a stale session cookie cannot block logging in.
    return request.cookies.get(NONCE_COOKIE if login else SESSION_COOKIE)


def token_for(request: Request, *, secret: str, login: bool = False) -> tuple[str, str | None]:
    """The token for this page's forms, and a new nonce to set as cookie when the login page has none."""
    binding = _binding(request, login=login)
    new_nonce = None
    if binding is None:
        binding = new_nonce = secrets.token_urlsafe(32)
    return _sign(secret, binding), new_nonce if login else None


def valid(request: Request, token: str, *, secret: str, login: bool = False) -> bool:
    """Constant-time check of a posted token against this browser's cookie."""
    binding = _binding(request, login=login)
    if not binding or not token:
        return False
    return hmac.compare_digest(_sign(secret, binding), token)
