"""``diagnostics``: DNS, TCP reachability of broker and controller, disk, clock skew and queue depth."""

from __future__ import annotations

import shutil
import socket
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional
from urllib.parse import urlsplit

from station_protocol import now_ms

from .base import CommandContext


@dataclass(frozen=True)
class DiagnosticsTargets:
    broker_host: str
    broker_port: int
    controller_url: str  # may be empty when the device was provisioned without enrollment
    content_path: str
    timeout_s: float = 3.0


class Diagnostics:
    """Each probe reports its own outcome; one failing probe never hides the others."""

    def __init__(self, targets: DiagnosticsTargets, *, queue_depth: Callable[[], int]) -> None:
        self._t = targets
        self._queue_depth = queue_depth

    def __call__(self, ctx: CommandContext) -> Dict[str, Any]:
        controller = _controller_endpoint(self._t.controller_url)
        out: Dict[str, Any] = {
            "broker_tcp": self._tcp(self._t.broker_host, self._t.broker_port),
            "disk_free_bytes": _disk_free(self._t.content_path),
            # Positive: the device clock is ahead of the controller's (includes the delivery delay).
            "clock_skew_ms": ctx.received_ms - ctx.sent_ms,
            "agent_time_ms": now_ms(),
            "queue_depth": self._queue_depth(),
        }
        if controller is not None:
            host, port = controller
            out["controller_dns"] = _resolve(host)
            out["controller_tcp"] = self._tcp(host, port)
        return out

    def _tcp(self, host: str, port: int) -> Dict[str, Any]:
        started = time.monotonic()
        try:
            with socket.create_connection((host, port), timeout=self._t.timeout_s):
                return {
                    "ok": True,
                    "target": f"{host}:{port}",
                    "ms": round((time.monotonic() - started) * 1000, 1),
                }
        except OSError as exc:
            return {"ok": False, "target": f"{host}:{port}", "error": str(exc) or type(exc).__name__}


def _controller_endpoint(url: str) -> Optional[tuple[str, int]]:
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def _resolve(host: str) -> Dict[str, Any]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        return {"ok": False, "host": host, "error": str(exc)}
    return {"ok": True, "host": host, "addresses": sorted({str(info[4][0]) for info in infos})}


def _disk_free(path: str) -> Optional[int]:
    try:
        return int(shutil.disk_usage(path).free)
    except OSError:
        return None
