"""What the gateway shares with the splash responder, without importing ``http.server`` (splash.py)."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import Optional, Protocol

from .sessions import Session

API_PATH = "/captive-portal/api"


@dataclass(frozen=True)
class SplashState:
    """What the responder needs to answer one client (a snapshot taken under the gateway lock)."""

    gw: str
    portal_url: str
    gateway_key: str
    now_ms: int
    session: Optional[Session]  # None: the client (this IP with this MAC) is not authenticated


class SplashBackend(Protocol):
    def splash_state(self, ip: str, mac: str) -> Optional[SplashState]:
        """None when the portal is not enabled."""
        ...


def interface_ipv4(name: str) -> Optional[str]:
    """The primary IPv4 address of interface ``name`` (SIOCGIFADDR), or None."""
    import fcntl  # POSIX only; imported here so the module still imports on other platforms

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            raw = fcntl.ioctl(sock.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))
        except OSError:
            return None
    return socket.inet_ntoa(raw[20:24])
