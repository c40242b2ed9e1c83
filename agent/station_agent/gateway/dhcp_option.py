"""dnsmasq snippet announcing the RFC 8908 API URL in DHCP option 114 (RFC 8910)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Optional

from .splash_state import API_PATH

log = logging.getLogger(__name__)


def api_url(lan_ip: str, splash_port: int) -> str:
    return f"http://{lan_ip}:{splash_port}{API_PATH}"


def render_snippet(lan_interface: str, url: str) -> str:
    """dnsmasq tags each DHCP request with the name of the interface it arrived on."""
    return (
        "# Written by station-agent (portal gateway); do not edit, it is rewritten on every config change.\n"
        f'dhcp-option-force=tag:{lan_interface},114,"{url}"\n'
    )


class DhcpOptionFile:
    """Writes/removes the snippet atomically; an empty ``path`` turns the feature off."""

    def __init__(self, path: str) -> None:
        self._path = Path(path) if path else None

    def write(self, lan_interface: str, lan_ip: str, splash_port: int) -> Optional[Path]:
        if self._path is None:
            return None
        tmp = self._path.with_name(f".{self._path.name}.tmp")
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(render_snippet(lan_interface, api_url(lan_ip, splash_port)), encoding="utf-8")
        os.replace(tmp, self._path)
        log.info("DHCP option 114 snippet written to %s (reload dnsmasq to announce it)", self._path)
        return self._path

    def remove(self) -> None:
        if self._path is not None and self._path.exists():
            self._path.unlink()
