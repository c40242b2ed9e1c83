"""The only influxdb_client importer: synchronous line-protocol writes (VictoriaMetrics or InfluxDB 2)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException

from .errors import TsdbRejected, TsdbUnavailable

log = logging.getLogger(__name__)
# 400/413/422 mean "this batch is bad"; retrying it cannot help. Everything else may pass later.
# The client annotates the parameter as the class while the constants are plain strings.
_MS: Any = WritePrecision.MS
_PERMANENT_STATUSES = frozenset({400, 413, 422})


class LineSink(Protocol):
    """Writes one batch of line-protocol lines (millisecond timestamps) or raises a TsdbError."""

    def write_lines(self, lines: Sequence[str]) -> None: ...

    def close(self) -> None: ...


class InfluxLineSink:
    """influxdb-client's SYNCHRONOUS write API; its batching API loses data silently (#80, #198)."""

    def __init__(self, *, url: str, token: str, org: str, bucket: str, timeout_s: float) -> None:
        # VictoriaMetrics ignores the token; influxdb-client wants a non-empty one.
        self._client = InfluxDBClient(
            url=url, token=token or "unused", org=org, timeout=int(timeout_s * 1000)
        )
        self._api = self._client.write_api(write_options=SYNCHRONOUS)
        self._org = org
        self._bucket = bucket
        self._url = url

    def write_lines(self, lines: Sequence[str]) -> None:
        """Write one batch.

        Raises:
            TsdbRejected: the batch cannot be encoded, or the server refused it as invalid.
            TsdbUnavailable: anything else (connection, timeout, 5xx, auth).
        """
        try:
            # Encoded here, not inside the client: a lone surrogate is a bad point, not a TSDB outage.
            body = "\n".join(lines).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise TsdbRejected(f"a point is not valid UTF-8: {exc}", reason="encoding") from None
        try:
            self._api.write(bucket=self._bucket, org=self._org, record=body, write_precision=_MS)
        except ApiException as exc:
            if exc.status in _PERMANENT_STATUSES:
                raise TsdbRejected(
                    f"TSDB {self._url} refused a batch: {exc.status} {exc.body!r:.300}",
                    reason="too_large" if exc.status == 413 else "tsdb_refused",
                ) from None
            raise TsdbUnavailable(
                f"TSDB {self._url} answered {exc.status}; check tsdb_url/tsdb_token"
            ) from None
        except Exception as exc:  # urllib3 raises a zoo of transport errors; all of them are retryable
            raise TsdbUnavailable(f"TSDB {self._url} unreachable: {type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        self._client.close()  # type: ignore[no-untyped-call]
