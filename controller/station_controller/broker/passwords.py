"""Mosquitto 2.0 password-file hashes (``$7$`` PBKDF2-SHA512) and generated broker passwords."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# mosquitto_passwd 2.0's defaults. The iteration count is low, but every password we issue is a random
# 192-bit token, so stretching buys nothing, while the broker runs this hash on every (re)connect —
# a reconnect storm of 100,000 devices must not turn into 100,000 expensive key derivations.
ITERATIONS = 101
SALT_BYTES = 12
_PREFIX = "$7$"


def hash_password(password: str, *, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """Hash ``password`` as ``$7$<iterations>$<base64 salt>$<base64 hash>`` for a Mosquitto password file."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return f"{_PREFIX}{iterations}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` matches a ``$7$`` hash produced by us or by ``mosquitto_passwd``."""
    parts = encoded.split("$")
    if len(parts) != 5 or not encoded.startswith(_PREFIX) or not parts[2].isdigit():
        return False
    try:
        salt, expected = base64.b64decode(parts[3]), base64.b64decode(parts[4])
    except ValueError:
        return False
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, int(parts[2]))
    return hmac.compare_digest(digest, expected)


def generate_password() -> str:
    """A fresh URL-safe broker password with 192 bits of entropy."""
    return secrets.token_urlsafe(24)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
