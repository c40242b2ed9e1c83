"""The signed splash redirect of docs/portal.md: ``{portal_url}?gw&mac&ip&url&ts&sig`` (HMAC-SHA256)."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Optional
from urllib.parse import urlencode

MAX_URL = 1024
HOST_RE = re.compile(r"^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$")


def sign(key_hex: str, *, gw: str, mac: str, ip: str, ts: int, url: str) -> str:
    """Lowercase hex HMAC-SHA256 over ``"{gw}|{mac}|{ip}|{ts}|{url}"`` with the raw 32-byte key."""
    message = f"{gw}|{mac}|{ip}|{ts}|{url}".encode()
    return hmac.new(bytes.fromhex(key_hex), message, hashlib.sha256).hexdigest()


def portal_redirect(portal_url: str, key_hex: str, *, gw: str, mac: str, ip: str, url: str, ts: int) -> str:
    """The Location a captive client is sent to."""
    query = urlencode(
        [
            ("gw", gw),
            ("mac", mac),
            ("ip", ip),
            ("url", url),
            ("ts", str(ts)),
            ("sig", sign(key_hex, gw=gw, mac=mac, ip=ip, ts=ts, url=url)),
        ]
    )
    return f"{portal_url}{'&' if '?' in portal_url else '?'}{query}"


def original_url(host: Optional[str], path: str, fallback_host: str) -> str:
    """``http://`` + Host + path, or ``http://{fallback_host}/`` when the Host is odd or the URL too long.

    The client controls both values, so only a plain host[:port] and a printable path are kept; the
    controller redirects only to this signed value after login.
    """
    host = (host or "").strip()
    path = path if path.startswith("/") else "/"
    url = f"http://{host}{path}"
    if not HOST_RE.match(host) or len(url) > MAX_URL or not path.isprintable() or " " in path:
        return f"http://{fallback_host}/"
    return url
