"""The kernel's IPv4 neighbour table (``/proc/net/arp`` of the network namespace we run in)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Protocol

from .errors import InvalidPortalArgs
from .validate import mac as valid_mac

ARP_PATH = Path("/proc/net/arp")
ATF_COM = 0x2  # entry complete (resolved)


class Neighbours(Protocol):
    def mac_of(self, ip: str) -> Optional[str]:
        """The MAC the router resolved for ``ip``, or None."""
        ...


class ProcArp:
    """Reads /proc/net/arp: no subprocess, and it reflects the namespace of this process."""

    def __init__(self, path: Path = ARP_PATH) -> None:
        self._path = path

    def mac_of(self, ip: str) -> Optional[str]:
        try:
            lines = self._path.read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            return None
        for line in lines:
            fields = line.split()
            if len(fields) >= 4 and fields[0] == ip and int(fields[2], 16) & ATF_COM:
                try:
                    return valid_mac(fields[3])
                except InvalidPortalArgs:
                    return None
        return None
