"""``GET /api/v1/devices/{device_id}/history``: one whitelisted metric of a device over time."""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ..api.deps import AppSettings
from ..auth.deps import Viewer
from ..errors import DeviceUnreachable, InvalidInput
from .errors import QueryError, TsdbUnavailable
from .history import METRICS, plan
from .query import PromQuery, VictoriaQuery
from .schemas import History

router = APIRouter(tags=["history"])


@lru_cache(maxsize=4)
def _client_for(url: str, timeout_s: float) -> VictoriaQuery:
    return VictoriaQuery(url, timeout_s=timeout_s)


def get_tsdb_query(settings: AppSettings) -> PromQuery:
    """The process's query client (tests override this dependency)."""
    return _client_for(settings.tsdb_query_url, settings.tsdb_timeout_s)


TsdbQuery = Annotated[PromQuery, Depends(get_tsdb_query)]


@router.get("/devices/{device_id}/history", response_model=History)
def device_history(
    device_id: str,
    _user: Viewer,
    tsdb: TsdbQuery,
    metric: Annotated[str, Query(description=f"one of {', '.join(sorted(METRICS))}")],
    range_: Annotated[str, Query(alias="range", description="how far back, e.g. 15m, 1h, 7d")] = "1h",
    step: Annotated[str | None, Query(description="resolution, e.g. 30s; default fits 1000 points")] = None,
) -> History:
    """Points ``[unix seconds, value]`` of ``metric`` for one device, oldest first."""
    promql, range_s, step_s = plan(device_id, metric, range_, step)
    end = time.time()
    try:
        series = tsdb.query_range(promql, start=end - range_s, end=end, step_s=step_s)
    except TsdbUnavailable as exc:
        raise DeviceUnreachable(f"metrics store unavailable: {exc}") from None
    except QueryError as exc:
        raise InvalidInput(str(exc)) from None
    points = series[0].points if series else []
    return History(device_id=device_id, metric=metric, range_s=range_s, step_s=step_s, points=points)
