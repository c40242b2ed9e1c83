"""Form tokens of the console's pages (the HMAC itself is ``kernel.csrf``, below ``api/``'s origin check)."""

from __future__ import annotations

from ..kernel.csrf import NONCE_COOKIE, SESSION_COOKIE, token_for, valid

__all__ = ["NONCE_COOKIE", "SESSION_COOKIE", "token_for", "valid"]
