"""A plain static HTTP server with Range (any CDN/cache stand-in) that counts bytes and can flip bytes."""

from __future__ import annotations

import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class RangeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr: tuple[str, int], root: Path) -> None:
        self.root = root
        self.lock = threading.Lock()
        self.served: dict[str, int] = {}  # path → body bytes written to the socket
        self.requests: list[tuple[str, str | None]] = []
        self.corrupt: dict[str, int] = {}  # path → how many more responses get a flipped byte
        self.delay_s = 0.0  # latency added before every response (stands in for link delay)
        super().__init__(addr, _Handler)

    def server_bind(self) -> None:
        # A small send buffer keeps "bytes written" close to "bytes delivered" when a link is cut.
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32 * 1024)
        super().server_bind()

    def total(self, prefix: str = "") -> int:
        with self.lock:
            return sum(v for k, v in self.served.items() if k.startswith(prefix))


class _Handler(BaseHTTPRequestHandler):
    server: RangeServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each response's last segment waits for a delayed ACK

    def log_message(self, *_args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?")[0]
        target = (self.server.root / path.lstrip("/")).resolve()
        rng = self.headers.get("Range")
        with self.server.lock:
            self.server.requests.append((path, rng))
        if not str(target).startswith(str(self.server.root.resolve())) or not target.is_file():
            self.send_error(404)
            return
        data = target.read_bytes()
        if self.server.delay_s:
            time.sleep(self.server.delay_s)
        start, end, status = 0, len(data) - 1, 200
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng or "")
        if m:
            start = int(m.group(1))
            end = min(int(m.group(2)), end) if m.group(2) else end
            status = 206
            if start > end:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        body = bytearray(data[start : end + 1])
        with self.server.lock:
            if self.server.corrupt.get(path, 0) > 0 and body:
                self.server.corrupt[path] -= 1
                body[len(body) // 2] ^= 0xFF
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.end_headers()
        view = memoryview(bytes(body))
        for i in range(0, len(view), 16384):
            try:
                self.wfile.write(view[i : i + 16384])
            except OSError:
                return
            with self.server.lock:
                self.server.served[path] = self.server.served.get(path, 0) + min(16384, len(view) - i)
