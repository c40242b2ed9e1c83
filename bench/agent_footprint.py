"""Footprint of one real agent (``python -m station_agent``) per role at the default 30 s telemetry interval.

For each ``--role`` (default: ``stb`` then ``router``, one after the other, never at once) runs the agent
against a throwaway Mosquitto for ``--duration`` seconds (default 300; ``--quick`` = 60), samples VmRSS
and CPU time from /proc/<pid> every second, and prints max RSS (MB) and average CPU % of one core
(targets: <= 24 MB, <= 1 %). Both roles are started the same way: the same interpreter, the same
environment as this bench (nothing is set for the agent: no MALLOC_ARENA_MAX, no -X options), a config
with only device, mqtt, telemetry and dry-run reboot, and no portal config (a router's portal off).
Over the target it also prints the modules the role imports that dominate ``python -X importtime``.

    .venv/bin/python bench/agent_footprint.py [--role stb|router|both] [--duration 300 | --quick]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _common import Fleet, write_result

from station_controller.broker import BrokerAccount, generate_password, hash_password
from station_controller.devstack import MosquittoService
from station_simulator.local import local_fleet

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TARGET_MB = 24.0  # docs/benchmarks.md, DESIGN §7: per role
ROLES = ("stb", "router")
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


@contextmanager
def _station_broker(data_dir: Path) -> Iterator[Fleet]:
    """A Mosquitto with a controller account and one station's accounts (its STB and its router)."""
    broker = MosquittoService(data_dir=data_dir / "mosquitto")
    broker.start()
    try:
        creds = local_fleet(1, host=broker.host, port=broker.port, prefix="fp", with_router=True)
        accounts = [BrokerAccount(c.mqtt_username, hash_password(c.mqtt_password)) for c in creds]
        password = generate_password()
        accounts.append(BrokerAccount("controller", hash_password(password)))
        broker.accounts.write(accounts)
        time.sleep(0.5)  # SIGHUP is asynchronous; give the broker a moment to re-read the files
        yield Fleet(broker, creds, "controller", password)
    finally:
        broker.stop()


def _rss_mb(pid: int, field: str = "VmRSS") -> float:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
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
    # VmRSS = RssAnon (this process's own memory) + RssFile (mapped files: libpython, libcrypto, libc,
    # pages other processes using the same libraries share) -- reported apart, the target is on VmRSS.
    anon_mb, file_mb = _rss_mb(pid, "RssAnon"), _rss_mb(pid, "RssFile")
    total_cpu, now = _cpu_s(pid), time.monotonic()
    steady = (total_cpu - warm_cpu) / (now - warm_at) * 100 if warm_cpu is not None and warm_at else None
    return {
        "max_rss_mb": round(max(rss), 1),
        "final_rss_mb": round(rss[-1], 1),
        "final_rss_anon_mb": round(anon_mb, 1),
        "final_rss_file_mb": round(file_mb, 1),
        "cpu_pct_total": round(total_cpu / (now - started) * 100, 3),
        "cpu_pct_steady": round(steady, 3) if steady is not None else None,
        "cpu_s_total": round(total_cpu, 2),
    }


def import_profile(role: str, top: int = 12) -> list[tuple[str, int]]:
    """The modules with the largest cumulative import time (µs) when the runtime and ``role``'s parts load."""
    package = {"stb": "content", "router": "gateway"}[role]
    proc = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            f"import station_agent.runtime, station_agent.{package}.build",
        ],
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


def run(role: str, duration: float, interval: float) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as tmp_name,
        _station_broker(Path(tmp_name)) as fleet,
    ):
        tmp = Path(tmp_name)
        cred = next(c for c in fleet.creds if c.role == role)
        config = _config(tmp, cred, interval)
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
                "role": role,
                "duration_s": duration,
                "interval_s": interval,
                "telemetry_received": telemetry,
                "exit_code": agent.returncode,
                "log_tail": (tmp / "agent.log").read_text()[-500:],
            }
        )
    return figures


def report(figures: dict[str, Any]) -> None:
    print(
        f"{figures['role']} agent over {figures['duration_s']:.0f} s at {figures['interval_s']:g} s interval "
        f"({figures['telemetry_received']} telemetry messages received, exit code {figures['exit_code']})"
    )
    print(
        f"  max RSS {figures['max_rss_mb']} MB, final {figures['final_rss_mb']} MB "
        f"(anonymous {figures['final_rss_anon_mb']}, file-backed {figures['final_rss_file_mb']}; "
        f"target <= {TARGET_MB:g})"
    )
    print(
        f"  CPU {figures['cpu_pct_total']} % of one core overall, "
        f"{figures['cpu_pct_steady']} % after warm-up (target <= 1)"
    )
    if figures["max_rss_mb"] > TARGET_MB:
        figures["import_profile_us"] = import_profile(figures["role"])
        print("  largest cumulative imports (python -X importtime):")
        for name, micros in figures["import_profile_us"]:
            print(f"    {micros / 1000:8.1f} ms  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=(*ROLES, "both"), default="both")
    parser.add_argument("--duration", type=float, default=300.0)
    parser.add_argument("--quick", action="store_true", help="60 s instead of --duration")
    parser.add_argument("--interval", type=float, default=30.0, help="agent telemetry interval")
    args = parser.parse_args()
    results = {}
    for role in ROLES if args.role == "both" else (args.role,):
        results[role] = run(role, 60.0 if args.quick else args.duration, args.interval)
        report(results[role])
    write_result("agent_footprint", {"target_max_rss_mb": TARGET_MB, "roles": results})


if __name__ == "__main__":
    main()
