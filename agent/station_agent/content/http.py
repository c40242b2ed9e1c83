"""HTTP GET with Range over ``http.client`` (the content sync's only HTTP importer).

One keep-alive connection is reused across chunk requests: on an 80 ms link a new TCP connection per
64 KiB chunk would cost another round trip each time. ``http.client`` (and with it ``email``)
is imported on the first request, not at start: an idle STB does not carry it.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Callable, Optional, Protocol, Tuple
from urllib.parse import urlsplit

from .errors import TransferFailed

if TYPE_CHECKING:
    import http.client


class Body(Protocol):
    status: int
    length: Optional[int]
    retry_after: Optional[str]  # the Retry-After header, if any (429/503 answers)

    def read(self, size: int) -> bytes: ...

    def close(self) -> None: ...


class Fetcher(Protocol):
    def open(self, url: str, *, offset: int = 0, timeout_s: float, end: Optional[int] = None) -> Body:
        """Start a GET from ``offset`` (to ``end`` inclusive when given); raises OSError on trouble."""
        ...


class _Response:
    def __init__(self, resp: http.client.HTTPResponse, release: Callable[[bool], None]) -> None:
        self._resp = resp
        self._release = release
        self.status = resp.status
        self.length = resp.length
        self.retry_after: Optional[str] = resp.getheader("Retry-After")

    def read(self, size: int) -> bytes:
        import http.client

        try:
            return self._resp.read(size)
        except (http.client.HTTPException, socket.timeout) as exc:
            raise OSError(f"read failed: {exc}") from exc

    def close(self) -> None:
        # Reusable only when the body was read to its end (http.client then marks it closed).
        reusable = self._resp.isclosed() and not self._resp.will_close
        if not reusable:
            self._resp.close()  # an unread body (a 429, a 404): its socket goes with the connection
        self._release(reusable)


class HttpFetcher:
    def __init__(self) -> None:
        self._conn: Optional[http.client.HTTPConnection] = None
        self._key: Optional[Tuple[str, str, Optional[int]]] = None

    def _connection(
        self, scheme: str, host: str, port: Optional[int], timeout_s: float
    ) -> http.client.HTTPConnection:
        import http.client

        key = (scheme, host, port)
        if self._conn is None or self._key != key:
            self._drop()
            cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
            self._conn, self._key = cls(host, port, timeout=timeout_s), key
        self._conn.timeout = timeout_s
        if self._conn.sock is not None:
            self._conn.sock.settimeout(timeout_s)
        return self._conn

    def close(self) -> None:
        """Close the kept-alive connection (the next request opens a new one)."""
        self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    def _release(self, reusable: bool) -> None:
        if not reusable:
            self._drop()

    def open(self, url: str, *, offset: int = 0, timeout_s: float, end: Optional[int] = None) -> Body:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TransferFailed("http_error", f"unsupported URL {url!r}")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = (
            {"Range": f"bytes={offset}-{'' if end is None else end}"} if offset or end is not None else {}
        )
        import http.client

        for attempt in (1, 2):  # a kept-alive connection the server already closed gets one fresh retry
            reused = self._conn is not None
            conn = self._connection(parts.scheme, parts.hostname, parts.port, timeout_s)
            try:
                conn.request("GET", path, headers=headers)
                return _Response(conn.getresponse(), self._release)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._drop()
                if not reused or attempt == 2:
                    raise OSError(f"request failed: {exc}") from exc
            except (http.client.HTTPException, OSError) as exc:
                self._drop()
                raise OSError(f"request failed: {exc}") from exc
        raise OSError("request failed")
