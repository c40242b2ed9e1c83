"""History planning (metric whitelist → PromQL, range/step), Prometheus answer parsing, and the route."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from station_controller.auth.deps import current_user
from station_controller.auth.models import StaffUser
from station_controller.errors import ControllerError, InvalidInput
from station_controller.tsdb.errors import QueryError, TsdbUnavailable
from station_controller.tsdb.history import parse_duration, plan
from station_controller.tsdb.query import Series, parse_result
from station_controller.tsdb.routes import get_tsdb_query, router


def test_plan_builds_promql_from_the_whitelist_only() -> None:
    promql, range_s, step_s = plan("stb-a1b2", "rx_bps", "1h", None)
    assert promql == 'sum(iface_rx_bps{device="stb-a1b2",iface!="lo"})'
    assert (range_s, step_s) == (3600, 15)
    assert plan("stb-a1b2", "cpu_pct", "7d", "1m")[0] == 'max(telemetry_cpu_pct{device="stb-a1b2"})'


@pytest.mark.parametrize(
    ("device", "metric", "range_"),
    [
        ("stb-a1b2", "up", "1h"),
        ("stb-a1b2", 'cpu_pct"}or vector(1)', "1h"),
        ('x"}or{a="', "cpu_pct", "1h"),
        ("stb-a1b2", "cpu_pct", "1h;drop"),
        ("stb-a1b2", "cpu_pct", "0h"),
        ("stb-a1b2", "cpu_pct", "999w"),
    ],
)
def test_plan_refuses_anything_off_the_whitelist(device: str, metric: str, range_: str) -> None:
    with pytest.raises(InvalidInput):
        plan(device, metric, range_, None)


def test_step_never_yields_more_than_1000_points() -> None:
    _promql, range_s, step_s = plan("stb-a1b2", "mem_used", "30d", "1s")
    assert range_s // step_s <= 1000
    assert parse_duration("90s", "step") == 90


def test_parse_result_reads_matrix_and_vector() -> None:
    matrix = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [{"metric": {"device": "d"}, "values": [[1.5, "2"], [3, "4.5"]]}],
        },
    }
    vector = {
        "status": "success",
        "data": {"resultType": "vector", "result": [{"metric": {}, "value": [9, "1"]}]},
    }
    assert parse_result(matrix) == [Series({"device": "d"}, [(1.5, 2.0), (3.0, 4.5)])]
    assert parse_result(vector) == [Series({}, [(9.0, 1.0)])]
    with pytest.raises(QueryError):
        parse_result({"status": "error", "error": "bad query"})


class FakeQuery:
    def __init__(self, answer: list[Series] | Exception) -> None:
        self.answer = answer
        self.calls: list[tuple[str, float]] = []

    def query(self, promql: str, *, at: float | None = None) -> list[Series]:
        raise AssertionError("history uses query_range")

    def query_range(self, promql: str, *, start: float, end: float, step_s: float) -> list[Series]:
        self.calls.append((promql, step_s))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class AsgiClient:
    """Calls the app in-process (starlette's TestClient warns about httpx, and warnings are errors here)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def get(self, path: str, params: dict[str, str]) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://controller.test") as client:
                return await client.get(path, params=params)

        return asyncio.run(call())


def _client(fake: FakeQuery) -> AsgiClient:
    app = FastAPI()
    app.include_router(router, prefix="/api/v1")
    app.dependency_overrides[current_user] = lambda: StaffUser(username="vera", role="viewer")
    app.dependency_overrides[get_tsdb_query] = lambda: fake

    async def handler(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ControllerError)
        return JSONResponse(exc.to_dict(), status_code=exc.status)

    app.add_exception_handler(ControllerError, handler)
    return AsgiClient(app)


def test_route_returns_points_for_a_viewer() -> None:
    fake = FakeQuery([Series({}, [(100.0, 1.0), (115.0, 2.0)])])
    response = _client(fake).get(
        "/api/v1/devices/stb-a1b2/history", params={"metric": "tx_bps", "range": "1h"}
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert body == {
        "device_id": "stb-a1b2",
        "metric": "tx_bps",
        "range_s": 3600,
        "step_s": 15,
        "points": [[100.0, 1.0], [115.0, 2.0]],
    }
    assert fake.calls == [('sum(iface_tx_bps{device="stb-a1b2",iface!="lo"})', 15)]


def test_route_maps_errors() -> None:
    bad_metric = _client(FakeQuery([])).get("/api/v1/devices/stb-a1b2/history", params={"metric": "secrets"})
    assert bad_metric.status_code == 422
    down = _client(FakeQuery(TsdbUnavailable("refused"))).get(
        "/api/v1/devices/stb-a1b2/history", params={"metric": "cpu_pct"}
    )
    assert down.status_code == 503
    assert down.json()["retryable"] is True
    empty = _client(FakeQuery([])).get("/api/v1/devices/stb-a1b2/history", params={"metric": "cpu_pct"})
    assert empty.json()["points"] == []
