"""Test traffic inside a namespace (stdlib only): ``serve`` is the "internet", the rest are client probes.

nsprobe.py serve                    HTTP :80, hello :7000, source :7001, sink :7002, UDP echo :53
nsprobe.py http HOST PATH           → {"status", "location", "body"}
nsprobe.py tcp HOST PORT            → {"ok", "data" | "error"}
nsprobe.py udp HOST PORT            → {"ok"} (an answer within 2 s)
nsprobe.py download HOST BYTES      → {"bytes", "seconds"} after a 128 KiB warm-up
nsprobe.py upload HOST BYTES        → what the sink measured, same shape
"""

from __future__ import annotations

import http.client
import json
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List

WARMUP = 128 * 1024
CHUNK = 16 * 1024


class Http(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = b"internet-ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


class Tcp(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class Hello(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.sendall(b"hello\n")


class Source(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        size = int(self.request.recv(32).decode().strip())
        chunk = b"\0" * CHUNK
        while size > 0:
            self.request.sendall(chunk[: min(size, CHUNK)])
            size -= CHUNK


class Sink(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.sendall(json.dumps(measure(self.request)).encode())


def measure(sock: socket.socket) -> Dict[str, Any]:
    """Bytes and seconds after the first WARMUP bytes, until EOF."""
    total, start, counted = 0, 0.0, 0
    while True:
        data = sock.recv(65536)
        if not data:
            break
        total += len(data)
        if start == 0.0 and total >= WARMUP:
            start, counted = time.monotonic(), 0
        elif start:
            counted += len(data)
    return {"bytes": counted, "seconds": time.monotonic() - start if start else 0.0}


def serve() -> None:
    servers: List[socketserver.TCPServer] = [ThreadingHTTPServer(("0.0.0.0", 80), Http)]  # noqa: S104
    servers += [Tcp(("0.0.0.0", port), h) for port, h in ((7000, Hello), (7001, Source), (7002, Sink))]  # noqa: S104
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("0.0.0.0", 53))  # noqa: S104
    print("ready", flush=True)
    while True:
        data, peer = udp.recvfrom(2048)
        udp.sendto(data, peer)


def probe(kind: str, host: str, arg: str) -> Dict[str, Any]:
    if kind == "http":
        conn = http.client.HTTPConnection(host, 80, timeout=5)
        conn.request("GET", arg, headers={"Host": f"{host}"})
        reply = conn.getresponse()
        return {
            "status": reply.status,
            "location": reply.getheader("Location"),
            "body": reply.read().decode(),
        }
    if kind == "udp":
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(2.0)
            sock.sendto(b"query", (host, int(arg)))
            try:
                return {"ok": sock.recv(64) == b"query"}
            except OSError as exc:
                return {"ok": False, "error": type(exc).__name__}
    if kind == "tcp":
        try:
            with socket.create_connection((host, int(arg)), timeout=3) as sock:
                return {"ok": True, "data": sock.recv(64).decode()}
        except OSError as exc:
            return {"ok": False, "error": type(exc).__name__}
    with socket.create_connection((host, 7001 if kind == "download" else 7002), timeout=10) as sock:
        if kind == "download":
            sock.sendall(f"{arg}\n".encode())
            return measure(sock)
        chunk, left = b"\0" * CHUNK, int(arg)
        while left > 0:
            sock.sendall(chunk[: min(left, CHUNK)])
            left -= CHUNK
        sock.shutdown(socket.SHUT_WR)
        answer: Dict[str, Any] = json.loads(sock.recv(4096).decode())
        return answer


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve()
    else:
        print(json.dumps(probe(sys.argv[1], sys.argv[2], sys.argv[3])))
