"""Grafana dashboards: every panel query of monitoring/dashboards/*.json parses in a real VictoriaMetrics,
and the QoE dashboard's rebuffering panel computes the CTA-2066 ratio from written stream points."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.support import VictoriaHandle, wait_until

DASHBOARDS = Path(__file__).resolve().parents[3] / "monitoring" / "dashboards"


def _exprs(name: str) -> list[str]:
    board = json.loads((DASHBOARDS / name).read_text(encoding="utf-8"))
    exprs = [t["expr"] for panel in board["panels"] for t in panel["targets"]]
    return [e.replace("$device", ".*").replace("$source", ".*") for e in exprs]


@pytest.mark.parametrize("expr", _exprs("stream-quality.json"))
def test_qoe_panel_query_is_valid_metricsql(victoria: VictoriaHandle, expr: str) -> None:
    victoria.query(expr)  # 4xx on a parse error raises


def test_rebuffering_panel_computes_the_window_ratio(victoria: VictoriaHandle) -> None:
    now_ms = int(time.time() * 1000)
    # A session running for a while: each minute 1 s stalled and 59 s played (ratio 1/60).
    lines = [
        f"stream,device=dash-stb,source=probe,lesson=L1 stall_s={10.0 + m},play_s={1000.0 + 59 * m} "
        f"{now_ms - (8 - m) * 60_000}"
        for m in range(9)
    ]
    httpx.post(
        f"{victoria.url}/write", params={"precision": "ms"}, content="\n".join(lines)
    ).raise_for_status()
    expr = next(e for e in _exprs("stream-quality.json") if e.startswith("max by (device, lesson)"))
    rows = wait_until(
        lambda: [r for r in victoria.query(expr) if r["metric"].get("device") == "dash-stb"],
        timeout=30,
        interval=0.5,
        message="rebuffering ratio of the written points",
    )
    assert float(rows[0]["value"][1]) == pytest.approx(1 / 60, rel=0.05)
