"""Prometheus-API queries against VictoriaMetrics (``/api/v1/query``, ``/api/v1/query_range``) via httpx."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from .errors import QueryError, TsdbUnavailable


@dataclass(frozen=True)
class Series:
    """One result series: its labels and ``(unix seconds, value)`` points."""

    labels: dict[str, str]
    points: list[tuple[float, float]] = field(default_factory=list)


class PromQuery(Protocol):
    """What routes and tests need from the TSDB query side."""

    def query(self, promql: str, *, at: float | None = None) -> list[Series]: ...

    def query_range(self, promql: str, *, start: float, end: float, step_s: float) -> list[Series]: ...


def _point(pair: Any) -> tuple[float, float]:
    return float(pair[0]), float(pair[1])


def parse_result(payload: Any) -> list[Series]:
    """Series from a Prometheus API JSON answer (vector or matrix).

    Raises:
        QueryError: the answer reports an error or has an unexpected shape.
    """
    if not isinstance(payload, dict) or payload.get("status") != "success":
        detail = payload.get("error") if isinstance(payload, dict) else payload
        raise QueryError(f"TSDB query failed: {detail!r:.300}")
    try:
        data = payload["data"]
        series = []
        for item in data["result"]:
            points = [_point(p) for p in item["values"]] if "values" in item else [_point(item["value"])]
            series.append(Series(labels=dict(item["metric"]), points=points))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise QueryError(f"unexpected TSDB answer shape: {exc!r}") from None
    return series


class VictoriaQuery:
    """PromQuery over HTTP; one pooled httpx client per instance."""

    def __init__(self, base_url: str, *, timeout_s: float) -> None:
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)

    def query(self, promql: str, *, at: float | None = None) -> list[Series]:
        params: dict[str, str] = {"query": promql}
        if at is not None:
            params["time"] = f"{at:.3f}"
        return self._get("/api/v1/query", params)

    def query_range(self, promql: str, *, start: float, end: float, step_s: float) -> list[Series]:
        params = {"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step_s:g}s"}
        return self._get("/api/v1/query_range", params)

    def close(self) -> None:
        self._client.close()

    def _get(self, path: str, params: dict[str, str]) -> list[Series]:
        try:
            response = self._client.get(path, params=params)
        except httpx.TransportError as exc:
            raise TsdbUnavailable(f"TSDB {self._client.base_url} unreachable: {exc}; retry later") from None
        if response.status_code >= 500:
            raise TsdbUnavailable(f"TSDB answered {response.status_code}; retry later")
        try:
            payload = response.json()
        except ValueError:
            raise QueryError(f"TSDB answered {response.status_code} with non-JSON") from None
        return parse_result(payload)
