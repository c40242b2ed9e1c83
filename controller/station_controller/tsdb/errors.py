"""TSDB errors: what failed talking to VictoriaMetrics / InfluxDB and whether to retry.

TsdbError
 ├── TsdbUnavailable   connection refused, timeout, 5xx or auth failure (retryable: the writer keeps
 │                     the points and backs off; check tsdb_url / tsdb_token if it persists)
 ├── TsdbRejected      the server refused a batch as invalid (permanent: the batch is dropped and counted)
 └── QueryError        a query was answered with an error (fix the query; permanent)
"""

from __future__ import annotations


class TsdbError(Exception):
    """Base of every TSDB failure."""


class TsdbUnavailable(TsdbError):
    """The TSDB could not be reached or refused service for now; retry later."""


class TsdbRejected(TsdbError):
    """The TSDB refused the data itself; retrying the same batch cannot succeed."""


class QueryError(TsdbError):
    """The TSDB answered a query with an error."""
