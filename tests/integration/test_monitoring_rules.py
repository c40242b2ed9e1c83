"""Every alert rule and dashboard query parses in VictoriaMetrics, and the disk rule fires when it should."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.support import VictoriaHandle, wait_until

pytestmark = pytest.mark.integration

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"


def _rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load((MONITORING / "alerts" / "station-fleet.yml").read_text(encoding="utf-8"))
    return [rule for group in doc["groups"] for rule in group["rules"]]


def _panel_exprs() -> list[str]:
    dashboard = json.loads((MONITORING / "dashboards" / "station-fleet.json").read_text(encoding="utf-8"))
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    return [e.replace("$device", ".*") for e in exprs]


def test_every_rule_has_a_name_severity_and_summary() -> None:
    rules = _rules()
    assert len({r["alert"] for r in rules}) == len(rules) >= 8
    for rule in rules:
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]


@pytest.mark.parametrize("expr", [r["expr"] for r in _rules()] + _panel_exprs())
def test_expression_is_valid_metricsql(victoria: VictoriaHandle, expr: str) -> None:
    victoria.query(expr)  # VictoriaMetrics answers 4xx on a parse error; the handle raises on that


def test_disk_rule_fires_for_a_full_volume_only(victoria: VictoriaHandle) -> None:
    now_ms = int(time.time() * 1000)
    lines = [
        f"telemetry,device=mon-full,role=stb disk_used=95i,disk_total=100i {now_ms}",
        f"telemetry,device=mon-ok,role=stb disk_used=50i,disk_total=100i {now_ms}",
    ]
    httpx.post(
        f"{victoria.url}/write", params={"precision": "ms"}, content="\n".join(lines)
    ).raise_for_status()
    expr = next(r["expr"] for r in _rules() if r["alert"] == "DiskAlmostFull")
    firing = wait_until(
        lambda: {row["metric"].get("device") for row in victoria.query(expr)} & {"mon-full", "mon-ok"},
        timeout=30,
        interval=0.5,
        message="disk rule evaluated over the written samples",
    )
    assert firing == {"mon-full"}
