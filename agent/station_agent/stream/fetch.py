"""HTTP GET for the probe over ``http.client`` (the stream package's only HTTP importer).

Segments are read in 64 KiB chunks and discarded (only their size and timing matter), so a probe holds
at most one chunk of media in memory; playlists are kept, up to their size limit.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Protocol, Tuple
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import http.client

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Fetched:
    """One answer: ``body`` only when asked to keep it; ``elapsed_s`` from request to last byte."""

    status: int
    size: int
    elapsed_s: float
    body: bytes = b""


class FetchFailed(Exception):
    """No usable answer; ``kind`` is one of station_protocol.stream.ERROR_KINDS."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Fetcher(Protocol):
    def get(self, url: str, *, timeout_s: float, max_bytes: int, keep: bool) -> Fetched:
        """GET ``url``; raises FetchFailed (timeout, unreachable, dns, too_large)."""
        ...

    def close(self) -> None: ...


def classify(exc: BaseException) -> str:
    """The error kind of a transport failure."""
    if isinstance(exc, socket.gaierror):
        return "dns"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout"
    return "unreachable"


class HttpFetcher:
    """One keep-alive connection, reused while the origin stays the same."""

    def __init__(self) -> None:
        self._conn: Optional[http.client.HTTPConnection] = None
        self._key: Optional[Tuple[str, str, Optional[int]]] = None

    def get(self, url: str, *, timeout_s: float, max_bytes: int, keep: bool) -> Fetched:
        started = time.monotonic()
        try:
            return self._get(url, timeout_s, max_bytes, keep, started)
        except FetchFailed:
            self.close()
            raise
        except (OSError, ValueError) as exc:
            self.close()
            raise FetchFailed(classify(exc), f"GET {url[:200]}: {exc}") from None
        except Exception as exc:  # http.client.HTTPException: a broken answer, the origin misbehaves
            self.close()
            raise FetchFailed("unreachable", f"GET {url[:200]}: {type(exc).__name__}: {exc}") from None

    def _get(self, url: str, timeout_s: float, max_bytes: int, keep: bool, started: float) -> Fetched:
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn = self._connection(parts.scheme, parts.hostname or "", parts.port, timeout_s)
        conn.request("GET", path, headers={"User-Agent": "station-agent-probe"})
        resp = conn.getresponse()
        kept = bytearray()
        size = 0
        while True:
            chunk = resp.read(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise FetchFailed("too_large", f"GET {url[:200]}: more than {max_bytes} bytes")
            if keep:
                kept += chunk
        if resp.will_close:
            self.close()
        return Fetched(status=resp.status, size=size, elapsed_s=time.monotonic() - started, body=bytes(kept))

    def _connection(
        self, scheme: str, host: str, port: Optional[int], timeout_s: float
    ) -> http.client.HTTPConnection:
        import http.client

        key = (scheme, host, port)
        if self._conn is None or self._key != key:
            self.close()
            cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
            self._conn, self._key = cls(host, port, timeout=timeout_s), key
        self._conn.timeout = timeout_s
        if self._conn.sock is not None:
            self._conn.sock.settimeout(timeout_s)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn, self._key = None, None
