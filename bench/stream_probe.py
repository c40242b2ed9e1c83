"""Extra RSS and CPU of an STB agent while it probes a 2.5 Mbit/s live HLS stream (targets +5 MB, 3 %).

One run, two agents one after the other, the same way (bench/agent_footprint.py's config, broker and
/proc sampling): first an idle ``stb`` agent (the baseline), then an ``stb`` agent that is sent a
``stream.probe`` of a local live ffmpeg test pattern (one 2500 kbit/s CBR variant, 2 s segments,
devstack/hls.py) as soon as it runs. Each is sampled for ``--duration`` seconds (default 180;
``--quick`` = 60). Prints both, the difference, and how many ``stream.qoe`` reports came out (the
probe must really have worked: segments fetched, no errors).

    .venv/bin/python bench/stream_probe.py [--duration 180 | --quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import machine, write_result
from agent_footprint import WARMUP_S, _config, _sample, _station_broker

from station_controller.devstack import free_port
from station_controller.devstack.hls import HlsSettings, LiveHls
from station_protocol import Channel, Command, encode, make, now_ms, topic

TARGET_EXTRA_MB = 5.0
TARGET_EXTRA_CPU_PCT = 3.0
STREAM_KBIT = 2500


def _mosquitto(fleet: Any, tool: str, *args: str) -> list[str]:
    host, port = fleet.broker.host, str(fleet.broker.port)
    return [tool, "-h", host, "-p", port, "-u", "controller", "-P", fleet.controller_password, *args]


def _send_probe(fleet: Any, device: str, url: str, seconds: float) -> None:
    args = {"url": url, "until_ms": now_ms() + int(seconds * 1000) + 60_000, "lesson": "bench"}
    body = Command(name="stream.probe", expires_at=now_ms() + 60_000, timeout_s=30.0, args=args)
    payload = encode(make(device, body)).decode()
    argv = _mosquitto(fleet, "mosquitto_pub", "-q", "1", "-t", topic(device, Channel.CMD), "-m", payload)
    subprocess.run(argv, check=True, timeout=30)


def _agent_run(tmp: Path, fleet: Any, duration: float, probe_url: str | None) -> dict[str, Any]:
    cred = next(c for c in fleet.creds if c.role == "stb")
    work = tmp / ("probe" if probe_url else "baseline")
    work.mkdir()
    config = _config(work, cred, 30.0)
    events = subprocess.Popen(
        _mosquitto(fleet, "mosquitto_sub", "-q", "1", "-t", f"st/v1/{cred.device_id}/event"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    with (work / "agent.log").open("wb") as log:
        agent = subprocess.Popen(
            [sys.executable, "-m", "station_agent", "--config", str(config), "--log-level", "WARNING"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        if probe_url:
            time.sleep(2.0)  # connected and subscribed (the command is QoS 1 either way)
            _send_probe(fleet, cred.device_id, probe_url, duration)
        figures = _sample(agent.pid, duration)
    finally:
        agent.terminate()
        agent.wait(30)
        events.terminate()
    reports = [json.loads(line)["body"] for line in events.communicate()[0].splitlines() if line.strip()]
    qoe = [r["detail"] for r in reports if r.get("name") == "stream.qoe"]
    figures["qoe_reports"] = len(qoe)
    figures["last_qoe"] = qoe[-1] if qoe else None
    figures["exit_code"] = agent.returncode
    return figures


def run(duration: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp_name, _station_broker(Path(tmp_name)) as fleet:
        tmp = Path(tmp_name)
        live = LiveHls(
            HlsSettings(tmp / "hls", (STREAM_KBIT,)),
            host="127.0.0.1",
            port=free_port(),
            log_file=tmp / "hls.log",
        )
        live.start()
        try:
            baseline = _agent_run(tmp, fleet, duration, None)
            probing = _agent_run(tmp, fleet, duration, live.url)
        finally:
            live.stop()
    return {
        "duration_s": duration,
        "warmup_s": WARMUP_S,
        "stream_kbit": STREAM_KBIT,
        "baseline": baseline,
        "probing": probing,
        "extra_max_rss_mb": round(probing["max_rss_mb"] - baseline["max_rss_mb"], 1),
        "extra_cpu_pct_steady": round(
            (probing["cpu_pct_steady"] or 0) - (baseline["cpu_pct_steady"] or 0), 3
        ),
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=180.0)
    parser.add_argument("--quick", action="store_true", help="60 s per agent instead of --duration")
    args = parser.parse_args()
    result = run(60.0 if args.quick else args.duration)
    b, p, last = result["baseline"], result["probing"], result["probing"]["last_qoe"] or {}
    print(f"baseline stb agent: max RSS {b['max_rss_mb']} MB, CPU {b['cpu_pct_steady']} % after warm-up")
    print(f"probing  stb agent: max RSS {p['max_rss_mb']} MB, CPU {p['cpu_pct_steady']} % after warm-up")
    print(
        f"extra: {result['extra_max_rss_mb']} MB RSS (target <= {TARGET_EXTRA_MB:g}), "
        f"{result['extra_cpu_pct_steady']} % of a core (target <= {TARGET_EXTRA_CPU_PCT:g})"
    )
    print(
        f"probe: {p['qoe_reports']} stream.qoe reports, {last.get('segments')} segments at "
        f"{last.get('bitrate_bps')} bit/s, stalls {last.get('stall_count')}, errors {last.get('errors')}"
    )
    write_result("stream_probe", result)


if __name__ == "__main__":
    main()
