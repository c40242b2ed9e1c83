"""The "internet" test server (stdlib only, run inside the internet namespace): HTTP, TCP, DNS.

    python internet.py --http-port 80 --dns-addr 10.77.9.53 --dns-answer 10.77.9.9

HTTP (IPv4 and IPv6): ``/generate_204`` → 204, ``/`` → 200 ``internet-ok``, ``/bytes/<n>`` → n bytes.
TCP: HELLO_PORT greets and closes; SOURCE_PORT streams zeros until the client closes; SINK_PORT reads until
the client half-closes, then answers ``{"bytes", "seconds"}`` measured over the steady part (after
``--warmup`` seconds). DNS (UDP): every A query is answered with ``--dns-answer``.
"""

from __future__ import annotations

import argparse
import json
import socket
import socketserver
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HELLO_PORT = 7000
SOURCE_PORT = 7001
SINK_PORT = 7002
HELLO = b"hello-from-internet\n"
BODY_OK = b"internet-ok\n"
CHUNK = 16 * 1024


class Http(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.startswith("/generate_204"):
            self._send(204, b"")
        elif self.path.startswith("/bytes/"):
            self._send(200, b"\0" * min(int(self.path.rsplit("/", 1)[1]), 64 * 1024 * 1024))
        else:
            self._send(200, BODY_OK)

    def _send(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(body)))
        self.send_header("x-served-by", "internet-test-server")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


class DualStackHttp(ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


class DualStackTcp(socketserver.ThreadingTCPServer):
    address_family = socket.AF_INET6
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


class Hello(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.sendall(HELLO)


class Source(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        chunk = b"\0" * CHUNK
        try:
            while True:
                self.request.sendall(chunk)
        except OSError:
            return


class Sink(socketserver.BaseRequestHandler):
    warmup_s = 1.5

    def handle(self) -> None:
        first = time.monotonic()
        start_at, start_bytes, total, last = first + self.warmup_s, -1, 0, first
        while True:
            data = self.request.recv(65536)
            if not data:
                break
            now = time.monotonic()
            if start_bytes < 0 and now >= start_at:
                start_at, start_bytes = now, total
            total, last = total + len(data), now
        counted = total - max(start_bytes, 0)
        seconds = last - start_at if start_bytes >= 0 else 0.0
        self.request.sendall(json.dumps({"bytes": counted, "seconds": seconds, "total": total}).encode())


def dns_answer(query: bytes, address: str) -> bytes:
    """A response to a one-question query: the question echoed, one A record (TTL 60)."""
    (ident,) = struct.unpack("!H", query[:2])
    end = 12
    while query[end] != 0:
        end += query[end] + 1
    question = query[12 : end + 5]
    header = struct.pack("!HHHHHH", ident, 0x8180, 1, 1, 0, 0)
    answer = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(address)
    return header + question + answer


def serve_dns(addr: str, answer: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((addr, 53))
    while True:
        query, peer = sock.recvfrom(512)
        try:
            sock.sendto(dns_answer(query, answer), peer)
        except (IndexError, struct.error):
            continue


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http-port", type=int, default=80)
    parser.add_argument("--dns-addr", required=True)
    parser.add_argument("--dns-answer", required=True)
    parser.add_argument("--warmup", type=float, default=1.5)
    args = parser.parse_args()
    Sink.warmup_s = args.warmup
    servers: list[socketserver.BaseServer] = [
        DualStackHttp(("::", args.http_port), Http),
        DualStackTcp(("::", HELLO_PORT), Hello),
        DualStackTcp(("::", SOURCE_PORT), Source),
        DualStackTcp(("::", SINK_PORT), Sink),
    ]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    serve_dns(args.dns_addr, args.dns_answer)


if __name__ == "__main__":
    main()
