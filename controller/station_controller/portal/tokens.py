"""Portal secrets: splash signatures, login tokens, session ids, SMS codes, voucher codes, form tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from ..kernel.tokens import hash_token

VOUCHER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: printed and typed by villagers
VOUCHER_LENGTH = 10  # 32^10 = 2^50 codes; guessing is also rate limited


def new_gateway_key() -> str:
    """256-bit HMAC key for one router, as 64 hex characters."""
    return secrets.token_hex(32)


def splash_message(gw: str, mac: str, ip: str, ts: str, url: str) -> bytes:
    return f"{gw}|{mac}|{ip}|{ts}|{url}".encode()


def sign_splash(key: str, *, gw: str, mac: str, ip: str, ts: str, url: str) -> str:
    """``sig`` of docs/portal.md: HMAC-SHA256 keyed with the 32 raw bytes of the hex ``gateway_key``."""
    return hmac.new(bytes.fromhex(key), splash_message(gw, mac, ip, ts, url), hashlib.sha256).hexdigest()


def splash_signature_ok(key: str, sig: str, *, gw: str, mac: str, ip: str, ts: str, url: str) -> bool:
    expected = sign_splash(key, gw=gw, mac=mac, ip=ip, ts=ts, url=url)
    return hmac.compare_digest(expected, sig.lower())


def new_login_token() -> str:
    """256 random bits, URL-safe; only its sha256 is stored."""
    return secrets.token_urlsafe(32)


def new_session_id() -> str:
    """128 random bits as 32 hex characters."""
    return secrets.token_hex(16)


def new_sms_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def sms_code_hash(secret: str, phone: str, code: str) -> str:
    """Keyed hash: a leaked table does not give 6-digit codes away by a 10^6 brute force."""
    return hmac.new(secret.encode(), f"sms:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def new_voucher_code() -> str:
    return "".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(VOUCHER_LENGTH))


def normalise_voucher(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())[:32]


def form_token(secret: str, login_token: str) -> str:
    """CSRF token of the portal forms, bound to the pending login the page was rendered for."""
    return hmac.new(secret.encode(), b"portal-csrf:" + login_token.encode(), hashlib.sha256).hexdigest()


def form_token_ok(secret: str, login_token: str, token: str) -> bool:
    return bool(token) and hmac.compare_digest(form_token(secret, login_token), token)


__all__ = ["hash_token"]
