"""The player endpoint's HTTP side over ``http.server`` on a Unix socket (the package's only user of it)."""

from __future__ import annotations

import json
import logging
import socketserver
import sys
from http.server import BaseHTTPRequestHandler
from typing import Optional

from .endpoint import MAX_BODY, PATH, WANTED_PATH, PlayerIntake
from .wanted import WantedPlayback

log = logging.getLogger(__name__)
READ_TIMEOUT_S = 2.0


def serve_unix(path: str, intake: PlayerIntake, wanted: WantedPlayback) -> socketserver.UnixStreamServer:
    server = _Server(path, _Handler)
    server.intake = intake
    server.wanted = wanted
    return server


class _Server(socketserver.UnixStreamServer):
    intake: PlayerIntake
    wanted: WantedPlayback

    def handle_error(self, request: object, client_address: object) -> None:
        exc = sys.exc_info()[1]  # socketserver calls this from inside its except block
        log.warning("player endpoint: a request failed: %r", exc)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = READ_TIMEOUT_S

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = self._length()
        if length is None:
            return
        body = self.rfile.read(length)  # read before any answer: closing on an unread body breaks the pipe
        if self.path != PATH:
            self._not_here(WANTED_PATH, "GET only")
            return
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            self._answer(415, "Content-Type must be application/json")
            return
        status, message = self.server.intake.post(body)
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
        if self.path != WANTED_PATH:
            self._not_here(PATH, "POST only")
            return
        wanted = self.server.wanted.get()
        if wanted is None:
            self._send(204, b"", None)  # nothing to play: the player app keeps to its own programme
            return
        self._send(200, json.dumps(wanted.as_json()).encode("utf-8"), "application/json")

    def _not_here(self, other: str, hint: str) -> None:
        """405 on the path that takes the other method, 404 on any other path."""
        if self.path == other:
            self._answer(405, hint)
        else:
            self._answer(404, "not found")

    def _answer(self, status: int, message: str) -> None:
        self._send(status, (message + "\n").encode("utf-8"), "text/plain; charset=utf-8")

    def _send(self, status: int, data: bytes, content_type: Optional[str]) -> None:
        self.send_response(status)
        if content_type is not None:  # a 204 carries neither a body nor its headers
            self.send_header("Content-Type", content_type)
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
