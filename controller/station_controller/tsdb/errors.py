"""TSDB errors: what failed talking to VictoriaMetrics / InfluxDB and whether to retry.

TsdbError
 ├── TsdbUnavailable   connection refused, timeout, 5xx or auth failure (retryable: the writer keeps
 │                     the points and backs off; check tsdb_url / tsdb_token if it persists)
 ├── TsdbRejected      the server (or the encoder) refused a batch as invalid (permanent: the writer splits
 │                     the batch to isolate the bad points, writes the rest, counts the bad ones by reason)
 └── QueryError        a query was answered with an error (fix the query; permanent)
"""

from __future__ import annotations

from ..errors import StationError


class TsdbError(StationError):
    """Base of every TSDB failure."""


class TsdbUnavailable(TsdbError):
    """The TSDB could not be reached or refused service for now; retry later."""

    retryable = True


class TsdbRejected(TsdbError):
    """The TSDB refused the data itself; retrying the same batch cannot succeed.

    ``reason`` labels ``points_rejected{reason}`` when one point is isolated as the cause.
    """

    def __init__(self, message: str, *, reason: str = "tsdb_refused") -> None:
        super().__init__(message)
        self.reason = reason


class QueryError(TsdbError):
    """The TSDB answered a query with an error."""
