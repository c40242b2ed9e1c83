"""The splash responder on the LAN: signed redirects, probe answers, and the RFC 8908 API.

It trusts nothing from the client: the IP is the socket peer, the MAC comes from the kernel neighbour
table, and the only client-controlled value it echoes (the original URL) is checked and signed.
It is imported only when a portal is enabled (``http.server`` with http.client and email is ~1.5 MB
RSS); what the gateway needs without a running responder lives in splash_state.py.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Optional, Tuple
from urllib.parse import urlsplit

from .neighbours import Neighbours
from .signing import original_url, portal_redirect
from .splash_state import API_PATH, SplashBackend, SplashState, interface_ipv4

__all__ = ["API_PATH", "SplashBackend", "SplashServer", "SplashState", "interface_ipv4"]

log = logging.getLogger(__name__)

CAPTIVE_JSON = "application/captive+json"
SO_ORIGINAL_DST = 80
MAX_CONCURRENT = 64
APPLE_SUCCESS = "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>"
# path → (status, content type, body) answered to authenticated clients: the OSes' "online" replies.
PROBES: Dict[str, Tuple[int, str, str]] = {
    "/generate_204": (204, "text/plain", ""),
    "/gen_204": (204, "text/plain", ""),
    "/hotspot-detect.html": (200, "text/html", APPLE_SUCCESS),
    "/library/test/success.html": (200, "text/html", APPLE_SUCCESS),
    "/connecttest.txt": (200, "text/plain", "Microsoft Connect Test"),
    "/ncsi.txt": (200, "text/plain", "Microsoft NCSI"),
    "/success.txt": (200, "text/plain", "success\n"),
}


def _original_dst(sock: socket.socket) -> Optional[str]:
    try:
        raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    except OSError:
        return None
    return socket.inet_ntoa(raw[4:8])


def api_body(state: SplashState, portal_link: str) -> Dict[str, Any]:
    """RFC 8908 API answer (keys from the IANA Captive Portal API Keys registry)."""
    body: Dict[str, Any] = {"captive": state.session is None, "user-portal-url": portal_link}
    if state.session is not None:
        s = state.session
        body["seconds-remaining"] = max(0, (s.expires_at - state.now_ms) // 1000)
        if s.quota_bytes:
            body["bytes-remaining"] = max(0, s.quota_bytes - s.bytes_up - s.bytes_down)
        body["can-extend-session"] = True
    return body


class SplashHandler(BaseHTTPRequestHandler):
    server: SplashServer
    timeout = 10.0  # a slow client cannot hold a thread for long
    server_version = "station-portal"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._answer(with_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(with_body=False)

    def do_POST(self) -> None:  # noqa: N802
        self._answer(with_body=True)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        log.debug("splash %s: %s", self.client_address[0], format % args)

    def _answer(self, *, with_body: bool) -> None:
        ip = str(self.client_address[0])
        mac = self.server.neighbours.mac_of(ip)
        state = self.server.backend.splash_state(ip, mac) if mac else None
        if mac is None or state is None:
            self._send(503, "text/plain", "portal not ready, retry\n", with_body, {"Retry-After": "2"})
            return
        path = urlsplit(self.path).path or "/"
        link = self._portal_link(state, ip, mac)
        if path == API_PATH:
            self._send(200, CAPTIVE_JSON, json.dumps(api_body(state, link)), with_body)
        elif state.session is None:
            self._send(302, "text/html", f'<a href="{link}">portal</a>\n', with_body, {"Location": link})
        elif path in PROBES:
            self._send(*PROBES[path], with_body)
        else:
            self._send(200, "text/plain", "online\n", with_body)

    def _portal_link(self, state: SplashState, ip: str, mac: str) -> str:
        target = self.path if self.path.startswith("/") else urlsplit(self.path).path or "/"
        fallback = _original_dst(self.connection) or self.server.bind_ip
        url = original_url(self.headers.get("Host"), target, fallback)
        return portal_redirect(
            state.portal_url, state.gateway_key, gw=state.gw, mac=mac, ip=ip, url=url, ts=state.now_ms
        )

    def _send(
        self, status: int, ctype: str, body: str, with_body: bool, extra: Optional[Dict[str, str]] = None
    ) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{ctype}; charset=utf-8" if ctype.startswith("text/") else ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if with_body and data:
            self.wfile.write(data)


class SplashServer(ThreadingHTTPServer):
    """Threaded server with a cap on concurrent requests (extra connections are closed at once)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, bind_ip: str, port: int, *, backend: SplashBackend, neighbours: Neighbours) -> None:
        self.bind_ip = bind_ip
        self.backend = backend
        self.neighbours = neighbours
        self._slots = threading.BoundedSemaphore(MAX_CONCURRENT)
        self._thread: Optional[threading.Thread] = None
        super().__init__((bind_ip, port), SplashHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up mid-answer is normal on WiFi: debug log; anything else: logged with stack."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):  # BrokenPipe, ConnectionReset, ...
            log.debug("splash %s: client went away: %s", client_address[0], exc)
            return
        log.error("splash %s: request failed", client_address[0], exc_info=exc)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, args=(0.5,), name="splash", daemon=True)
        self._thread.start()
        log.info("splash responder on %s:%d", self.bind_ip, self.server_address[1])

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
