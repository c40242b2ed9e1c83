"""/console/charts/: ECharts (vendor/, fetched by scripts/bootstrap.sh) and sf-charts.js (static/).

Pages load ``<script src="/console/charts/echarts.min.js" defer>`` then
``<script src="/console/charts/sf-charts.js" defer>`` (see /tmp/team/ECHARTS.md, docs/monitoring.md).
ECharts' version and licence: vendor/VERSION, vendor/LICENSE, vendor/NOTICE (Apache-2.0).
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, Response

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
FILES = {
    "echarts.min.js": HERE / "vendor" / "echarts.min.js",
    "sf-charts.js": HERE / "static" / "sf-charts.js",
    "echarts-LICENSE.txt": HERE / "vendor" / "LICENSE",
    "echarts-NOTICE.txt": HERE / "vendor" / "NOTICE",
}
PREFIX = "/console/charts"
router = APIRouter(include_in_schema=False)
_cache: dict[str, bytes] = {}


def echarts_version() -> str:
    path = HERE / "vendor" / "VERSION"
    return path.read_text(encoding="utf-8").strip() if path.exists() else "missing"


def _body(name: str) -> bytes | None:
    if name not in _cache:
        path = FILES[name]
        if not path.exists():
            log.error("%s missing: run `make setup` (scripts/bootstrap.sh fetches ECharts from npm)", path)
            return None
        _cache[name] = path.read_bytes()
    return _cache[name]


@router.get(PREFIX + "/{name}")
def chart_asset(name: str) -> Response:
    body = _body(name) if name in FILES else None
    if body is None:
        return Response("not found (run make setup)", status_code=404, media_type="text/plain")
    media = "text/javascript" if name.endswith(".js") else "text/plain"
    headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
    return Response(body, media_type=f"{media}; charset=utf-8", headers=headers)
