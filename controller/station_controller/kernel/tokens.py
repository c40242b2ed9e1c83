"""One-time secrets (enrollment tokens, session tokens): generated random, stored as sha256."""

from __future__ import annotations

import hashlib
import hmac
import secrets

# Compared against when no row matched, so a miss costs the same as a wrong token.
DUMMY_HASH = hashlib.sha256(b"station-fleet-dummy").hexdigest()


def new_token() -> str:
    """256 random bits, URL-safe; never starts with ``-``, which the token CSV would have to quote."""
    while (token := secrets.token_urlsafe(32)).startswith("-"):
        pass  # 1 in 64 draws; costs 0.02 bits
    return token


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, stored_hash: str | None) -> bool:
    """Constant-time check of ``token`` against a stored sha256 hex digest."""
    return hmac.compare_digest(hash_token(token), stored_hash or DUMMY_HASH) and stored_hash is not None
