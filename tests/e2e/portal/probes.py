"""What a phone does on the network, from inside its namespace: TCP, HTTP, DNS and throughput probes."""

from __future__ import annotations

import json
import socket
import struct
import time
from dataclasses import dataclass

import httpx

from tests.support.netns import entered

HELLO_PORT = 7000
SOURCE_PORT = 7001
SINK_PORT = 7002
HELLO = b"hello-from-internet\n"
BODY_OK = "internet-ok\n"


def tcp_hello(ns: str, host: str, *, timeout: float = 2.0) -> bool:
    """True when a direct TCP connect to the internet server's greeter gets its greeting."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with entered(ns):
        sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((host, HELLO_PORT))
        return _read_all(sock, len(HELLO)) == HELLO
    except OSError:
        return False
    finally:
        sock.close()


def http_get(ns: str, url: str, *, timeout: float = 5.0) -> httpx.Response | None:
    """One GET without following redirects, from ``ns``; ``None`` when no answer arrives."""
    try:
        with entered(ns), httpx.Client(timeout=timeout, trust_env=False) as client:
            return client.get(url)
    except httpx.HTTPError:
        return None


def reaches_internet(ns: str, host: str, *, timeout: float = 2.0) -> bool:
    """HTTP to the internet server answered by the server itself (not a splash redirect)."""
    reply = http_get(ns, f"http://{_host(host)}/", timeout=timeout)
    return reply is not None and reply.status_code == 200 and reply.text == BODY_OK


def probe_is_204(ns: str, host: str, *, timeout: float = 3.0) -> bool:
    reply = http_get(ns, f"http://{_host(host)}/generate_204", timeout=timeout)
    return reply is not None and reply.status_code == 204


def cut(ns: str, host: str) -> bool:
    """True when the client is off the internet: neither plain TCP nor HTTP reach the server."""
    return not tcp_hello(ns, host, timeout=0.5) and not reaches_internet(ns, host, timeout=0.8)


def dns_answers(ns: str, server: str, name: str = "example.cn", *, timeout: float = 2.0) -> bool:
    """True when ``server`` (UDP 53) answers an A query for ``name`` from ``ns``."""
    query = struct.pack("!HHHHHH", 0x5151, 0x0100, 1, 0, 0, 0)
    query += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    query += struct.pack("!HH", 1, 1)
    with entered(ns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.settimeout(timeout)
        sock.sendto(query, (server, 53))
        reply, _ = sock.recvfrom(512)
        return reply[:2] == query[:2] and struct.unpack("!H", reply[6:8])[0] >= 1
    except OSError:
        return False
    finally:
        sock.close()


@dataclass(frozen=True)
class Rate:
    """A steady-state rate: bytes counted after the warm-up, over ``seconds``."""

    bytes: int
    seconds: float

    @property
    def mbit_s(self) -> float:
        return self.bytes * 8 / self.seconds / 1e6 if self.seconds > 0 else 0.0


def download_rate(ns: str, host: str, *, seconds: float = 8.0, warmup: float = 2.0) -> Rate:
    """Read the internet server's endless stream; count bytes after ``warmup`` (TCP slow start, bursts)."""
    with entered(ns):
        sock = socket.create_connection((host, SOURCE_PORT), timeout=10)
    try:
        start = time.monotonic()
        counted, window_start, now = 0, 0.0, start
        while now - start < warmup + seconds:
            data = sock.recv(65536)
            if not data:
                raise AssertionError("the internet server closed the download stream early")
            now = time.monotonic()
            if now - start >= warmup:
                if window_start == 0.0:
                    window_start = now
                else:
                    counted += len(data)
        return Rate(counted, now - window_start)
    finally:
        sock.close()


def upload_rate(ns: str, host: str, *, seconds: float = 10.0) -> Rate:
    """Send for ``seconds``, half-close, and read the server's own measurement (after its warm-up)."""
    with entered(ns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # A small send buffer: the server's measurement ends soon after we stop sending.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
        sock.settimeout(10)
        sock.connect((host, SINK_PORT))
        chunk = b"\0" * 16384
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            sock.sendall(chunk)
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(60)
        report = json.loads(_read_all(sock, 1 << 16))
        return Rate(int(report["bytes"]), float(report["seconds"]))
    finally:
        sock.close()


def _read_all(sock: socket.socket, limit: int) -> bytes:
    data = b""
    while len(data) < limit:
        part = sock.recv(limit - len(data))
        if not part:
            break
        data += part
    return data


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
