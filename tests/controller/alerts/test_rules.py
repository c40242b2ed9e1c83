"""The alert rules: vmalert parses them (-dryRun), tuning rewrites thresholds, and every series a rule
reads is one the controller really writes (ingest line protocol) or exposes (/metrics)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
import yaml

from station_controller.devstack.errors import ServiceStartError, ToolFailed
from station_controller.devstack.vmalert import RULES_DIR, RuleTuning, dry_run, offline_tuning, render_rules
from station_controller.observability.metrics import ALERT_INPUTS, COUNTERS, LABELED, PROM_NAMES
from station_controller.tsdb.lineproto import TELEMETRY_FLOAT_FIELDS, TELEMETRY_INT_FIELDS
from tests.support import VictoriaHandle, wait_until

REQUIRED = {
    "DeviceOffline",
    "WanLinkSaturated",
    "DiskAlmostFull",
    "ContentSyncStalled",
    "PortalRouterUnreachable",
    "LessonQualityPoor",
    "FirmwareRolledBack",
    "ControllerThreadRestarting",
    "PointsRejected",
    "DevicesQuarantined",
    "ControllerThreadDown",
}
# The QoE series lessons/qoe_points.py (helper "probe") writes from stream.qoe events, as its docstring
# names them; the rules read stall_s and play_s.
STREAM_SERIES = {"stream_stall_s", "stream_play_s", "stream_rebuffer_ratio", "stream_errors_total"}
FUNCTIONS = {
    "lag", "avg_over_time", "max_over_time", "count_over_time", "increase", "rate", "sum", "max", "by",
    "on", "unless", "and", "or",
}  # fmt: skip


def _rules(path: Path) -> list[dict[str, object]]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [rule for group in doc["groups"] for rule in group["rules"]]


def _written_series() -> set[str]:
    telemetry = {f"telemetry_{f}" for f in (*TELEMETRY_INT_FIELDS, *TELEMETRY_FLOAT_FIELDS, "temp_c")}
    iface = {f"iface_{f}" for f in ("rx_bps", "tx_bps", "rx_bytes", "tx_bytes")}
    counters = {f"{PROM_NAMES.get(n, n)}_total" for n in (*COUNTERS, *LABELED)}
    gauges = {"tsdb_buffer_points", "devices_online", "ingest_queue_depth", "ingest_unacked"}
    return telemetry | iface | counters | gauges | set(ALERT_INPUTS) | {"event_count"}


def _series_in(expr: str) -> set[str]:
    no_strings = re.sub(r'"[^"]*"', '""', expr)
    no_selectors = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\b(by|on|without|ignoring)\s*\([^)]*\)", " ", no_strings)
    names = set(re.findall(r"[a-zA-Z_][a-zA-Z0-9_]*", no_selectors))
    return {n for n in names if n not in FUNCTIONS and not re.fullmatch(r"e\d*", n)}


def test_the_issue_s_rules_exist_with_severity_summary_and_action() -> None:
    rules = {str(r["alert"]): r for path in RULES_DIR.glob("*.yml") for r in _rules(path)}
    assert set(rules) >= REQUIRED
    for name in REQUIRED:
        assert rules[name]["labels"]["severity"] in {"warning", "critical"}, name  # type: ignore[index]
        assert rules[name]["annotations"]["summary"], name  # type: ignore[index]


def test_every_rule_reads_series_the_controller_writes() -> None:
    known = _written_series() | STREAM_SERIES
    for path in RULES_DIR.glob("*.yml"):
        for rule in _rules(path):
            unknown = _series_in(str(rule["expr"])) - known
            assert not unknown, f"{rule['alert']} reads {unknown}"


def test_rule_files_pass_vmalert_dry_run(tmp_path: Path) -> None:
    files = render_rules(tmp_path, interval_s=2, tuning=offline_tuning(after_s=15, for_s=0))
    assert files
    dry_run(files)


def test_dry_run_catches_a_broken_expression(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "groups:\n- name: x\n  rules:\n  - alert: A\n    expr: sum((telemetry_seq\n", encoding="utf-8"
    )
    with pytest.raises(ToolFailed):
        dry_run([bad])


def test_tuning_rewrites_the_last_threshold_and_for(tmp_path: Path) -> None:
    (out,) = [
        f
        for f in render_rules(tmp_path, interval_s=3, tuning={"DeviceOffline": RuleTuning(12, 0)})
        if f.name == "station-fleet.yml"
    ]
    doc = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert {g["interval"] for g in doc["groups"]} == {"3s"}
    rule = next(r for g in doc["groups"] for r in g["rules"] if r["alert"] == "DeviceOffline")
    assert rule["expr"].endswith("> 12")
    assert rule["for"] == "0s"
    with pytest.raises(ServiceStartError):
        render_rules(tmp_path, tuning={"NoSuchRule": RuleTuning(1)})


def test_lesson_rule_fires_for_a_rebuffering_stb_only(victoria: VictoriaHandle) -> None:
    now_ms = int(time.time() * 1000)
    lines = []
    for device, stall_per_min in (("rule-poor", 6.0), ("rule-good", 0.2)):  # 10 % vs 0.3 % rebuffering
        for m in range(9):
            stall, play = stall_per_min * m, (60 - stall_per_min) * m
            lines.append(f"stream,device={device},source=probe,lesson=L9 stall_s={stall},play_s={play} "
                         f"{now_ms - (8 - m) * 60_000}")  # fmt: skip
    httpx.post(
        f"{victoria.url}/write", params={"precision": "ms"}, content="\n".join(lines)
    ).raise_for_status()
    rules = {str(r["alert"]): r for path in RULES_DIR.glob("*.yml") for r in _rules(path)}
    expr = str(rules["LessonQualityPoor"]["expr"])
    firing = wait_until(
        lambda: {r["metric"].get("device") for r in victoria.query(expr)} & {"rule-poor", "rule-good"},
        timeout=30,
        interval=0.5,
        message="lesson rule evaluated over the written points",
    )
    assert firing == {"rule-poor"}


def _write(victoria: VictoriaHandle, lines: list[str]) -> None:
    httpx.post(
        f"{victoria.url}/write", params={"precision": "ms"}, content="\n".join(lines)
    ).raise_for_status()


def _firing(victoria: VictoriaHandle, alert: str, devices: set[str]) -> set[str]:
    rules = {str(r["alert"]): r for path in RULES_DIR.glob("*.yml") for r in _rules(path)}
    expr = str(rules[alert]["expr"])
    return wait_until(
        lambda: {r["metric"].get("device") for r in victoria.query(expr)} & devices,
        timeout=30,
        interval=0.5,
        message=f"{alert} evaluated over the written points",
    )


def _event(device: str, name: str, severity: str, minutes_ago: float) -> str:
    ts = int(time.time() * 1000 - minutes_ago * 60_000)
    return f"event,device={device},role=stb,name={name},severity={severity} count=1i {ts}"


def test_content_sync_stalled_needs_old_progress_no_recent_progress_and_no_end(
    victoria: VictoriaHandle,
) -> None:
    lines = [_event(d, "content.progress", "info", 90) for d in ("cs-stalled", "cs-moving", "cs-done")]
    lines.append(_event("cs-moving", "content.progress", "info", 2))
    lines.append(_event("cs-done", "content.done", "info", 80))
    _write(victoria, lines)
    assert _firing(victoria, "ContentSyncStalled", {"cs-stalled", "cs-moving", "cs-done"}) == {"cs-stalled"}


def test_firmware_rule_fires_on_error_or_warning_progress_only(victoria: VictoriaHandle) -> None:
    _write(
        victoria,
        [
            _event("fw-rolled", "firmware.progress", "error", 1),
            _event("fw-rolled", "firmware.progress", "error", 0.5),
            _event("fw-ok", "firmware.progress", "info", 1),
            _event("fw-ok", "firmware.progress", "info", 0.5),
        ],
    )
    assert _firing(victoria, "FirmwareRolledBack", {"fw-rolled", "fw-ok"}) == {"fw-rolled"}


def test_wan_saturated_only_at_its_weekly_peak_above_one_megabit(victoria: VictoriaHandle) -> None:
    now_ms = int(time.time() * 1000)
    lines = []
    for device, peak, recent in (("wan-full", 8e6, 7.9e6), ("wan-calm", 8e6, 2e6), ("wan-tiny", 5e5, 5e5)):
        lines.append(f"iface,device={device},role=router,iface=wan rx_bps={peak} {now_ms - 3 * 3600_000}")
        lines += [
            f"iface,device={device},role=router,iface=wan rx_bps={recent} {now_ms - s * 1000}"
            for s in range(0, 240, 30)
        ]
    _write(victoria, lines)
    assert _firing(victoria, "WanLinkSaturated", {"wan-full", "wan-calm", "wan-tiny"}) == {"wan-full"}
