"""Footprint of one real agent (``python -m station_agent``) at the default 30 s telemetry interval.

Runs the agent against a throwaway Mosquitto for ``--duration`` seconds (default 300; ``--quick`` = 60),
samples RSS and CPU time from /proc/<pid> every second, and prints max RSS (MB) and average CPU % of
one core (targets: <= 30 MB, <= 1 %). Over 30 MB it also prints what dominates ``python -X importtime``.

    .venv/bin/python bench/agent_footprint.py [--duration 300 | --quick]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import broker_with_fleet, write_result

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
WARMUP_S = 10.0  # imports and the first connect are reported separately from the steady state


def _config(tmp: Path, cred: Any, interval: float) -> Path:
    path = tmp / "agent.toml"
    path.write_text(
        f"""state_dir = "{tmp / "state"}"
[device]
id = "{cred.device_id}"
role = "{cred.role}"
[mqtt]
host = "{cred.mqtt_host}"
port = {cred.mqtt_port}
username = "{cred.mqtt_username}"
password = "{cred.mqtt_password}"
[telemetry]
interval_s = {interval}
content_path = "{tmp}"
[commands]
reboot_dry_run = true
""",
        encoding="utf-8",
    )
    return path


def _rss_mb(pid: int) -> float:
    match = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(match.group(1)) / 1024 if match else 0.0


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def _sample(pid: int, duration: float) -> dict[str, Any]:
    started = time.monotonic()
    rss: list[float] = []
    warm_cpu = warm_at = None
    while time.monotonic() - started < duration:
        rss.append(_rss_mb(pid))
        if warm_cpu is None and time.monotonic() - started >= WARMUP_S:
            warm_cpu, warm_at = _cpu_s(pid), time.monotonic()
        time.sleep(1.0)
    total_cpu, now = _cpu_s(pid), time.monotonic()
    steady = (total_cpu - warm_cpu) / (now - warm_at) * 100 if warm_cpu is not None and warm_at else None
    return {
        "max_rss_mb": round(max(rss), 1),
        "final_rss_mb": round(rss[-1], 1),
        "cpu_pct_total": round(total_cpu / (now - started) * 100, 3),
        "cpu_pct_steady": round(steady, 3) if steady is not None else None,
        "cpu_s_total": round(total_cpu, 2),
    }


def import_profile(top: int = 12) -> list[tuple[str, int]]:
    """The modules with the largest cumulative import time (µs) when the agent runtime loads."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import station_agent.runtime"],
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((parts[2].rstrip(), int(parts[1])))
    return sorted(rows, key=lambda r: -r[1])[:top]


def run(duration: float, interval: float) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as tmp_name,
        broker_with_fleet(Path(tmp_name), 1, prefix="fp") as fleet,
    ):
        tmp = Path(tmp_name)
        config = _config(tmp, fleet.creds[0], interval)
        sub = subprocess.Popen(
            [
                "mosquitto_sub",
                "-h",
                fleet.broker.host,
                "-p",
                str(fleet.broker.port),
                "-u",
                "controller",
                "-P",
                fleet.controller_password,
                "-t",
                "st/v1/+/telemetry",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        with (tmp / "agent.log").open("wb") as log:
            agent = subprocess.Popen(
                [sys.executable, "-m", "station_agent", "--config", str(config), "--log-level", "WARNING"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            figures = _sample(agent.pid, duration)
        finally:
            agent.terminate()
            agent.wait(30)
            sub.terminate()
        telemetry = sum(1 for line in sub.communicate()[0].splitlines() if line.strip())
        figures.update(
            {
                "duration_s": duration,
                "interval_s": interval,
                "telemetry_received": telemetry,
                "exit_code": agent.returncode,
                "log_tail": (tmp / "agent.log").read_text()[-500:],
            }
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=300.0)
    parser.add_argument("--quick", action="store_true", help="60 s instead of --duration")
    parser.add_argument("--interval", type=float, default=30.0, help="agent telemetry interval")
    args = parser.parse_args()
    figures = run(60.0 if args.quick else args.duration, args.interval)
    print(
        f"agent over {figures['duration_s']:.0f} s at {figures['interval_s']:g} s interval "
        f"({figures['telemetry_received']} telemetry messages received)"
    )
    print(f"max RSS {figures['max_rss_mb']} MB (target <= 30)")
    print(
        f"CPU {figures['cpu_pct_total']} % of one core overall, {figures['cpu_pct_steady']} % after warm-up "
        "(target <= 1)"
    )
    if figures["max_rss_mb"] > 30:
        figures["import_profile_us"] = import_profile()
        print("largest cumulative imports (python -X importtime):")
        for name, micros in figures["import_profile_us"]:
            print(f"  {micros / 1000:8.1f} ms  {name}")
    write_result("agent_footprint", figures)


if __name__ == "__main__":
    main()
