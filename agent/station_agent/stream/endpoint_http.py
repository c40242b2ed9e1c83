"""The player endpoint's HTTP side over ``http.server`` on a Unix socket (the package's only user of it)."""

from __future__ import annotations

import logging
import socketserver
import sys
from http.server import BaseHTTPRequestHandler
from typing import Optional

from .endpoint import MAX_BODY, PATH, PlayerIntake

log = logging.getLogger(__name__)
READ_TIMEOUT_S = 2.0


def serve_unix(path: str, intake: PlayerIntake) -> socketserver.UnixStreamServer:
    server = _Server(path, _Handler)
    server.intake = intake
    return server


class _Server(socketserver.UnixStreamServer):
    intake: PlayerIntake

    def handle_error(self, request: object, client_address: object) -> None:
        exc = sys.exc_info()[1]  # socketserver calls this from inside its except block
        log.warning("player endpoint: a request failed: %r", exc)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = READ_TIMEOUT_S

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        if self.path != PATH:
            self._answer(404, "not found")
            return
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            self._answer(415, "Content-Type must be application/json")
            return
        length = self._length()
        if length is None:
            return
        status, message = self.server.intake.post(self.rfile.read(length))
        self._answer(status, message)

    def _length(self) -> Optional[int]:
        try:
            length = int(self.headers.get("Content-Length") or "")
        except ValueError:
            self._answer(411, "Content-Length required")
            return None
        if not 0 < length <= MAX_BODY:
            self._answer(413, f"body must be 1..{MAX_BODY} bytes")
            return None
        return length

    def do_GET(self) -> None:  # noqa: N802
        self._answer(405, "POST only")

    def _answer(self, status: int, message: str) -> None:
        data = (message + "\n").encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            self.wfile.write(data)
        except OSError:  # the player went away (or kept sending a refused body): nothing to tell it
            log.debug("player endpoint: could not answer %d", status)

    def address_string(self) -> str:
        return "player"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        log.debug("player endpoint: %s", format % args)
