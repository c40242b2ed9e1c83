"""Telemetry ingest rate and loss versus a plain ``mosquitto_sub`` draining the same stream, in one run.

The simulator publishes M = stations x K telemetry messages (QoS 1, as fast as the broker takes them)
while (1) the controller's ingest runtime (decode, validate, write to VictoriaMetrics, presence, and
the PUBACK only after the TSDB stored each message: manual acks) and (2) ``mosquitto_sub -C M`` on the
same topics (acknowledging on arrival) both consume them. Prints both rates, their ratio (target >= 0.8)
and the loss (points in VictoriaMetrics vs messages acknowledged by the broker).

    .venv/bin/python bench/ingest.py [--stations 1000] [--messages 20] [--processes 1]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from _common import broker_with_fleet, controller_settings, seed_registry, write_result

from station_controller.db import make_engine, make_session_factory
from station_controller.devstack import VictoriaService
from station_controller.ingest.runtime import build_ingest
from station_simulator import SimulationConfig, SimulationSummary, run_simulation

POINTS_PER_MESSAGE = 2  # an STB sample is one `telemetry` line and one `iface` line (eth0)


class SubDrain:
    """``mosquitto_sub -C M`` printing one receive timestamp per message."""

    def __init__(self, host: str, port: int, username: str, password: str, count: int) -> None:
        argv = [
            "mosquitto_sub",
            "-h",
            host,
            "-p",
            str(port),
            "-u",
            username,
            "-P",
            password,
            "-q",
            "1",
            "-V",
            "mqttv5",
            "-i",
            "bench-sub",
            "-t",
            "st/v1/+/telemetry",
            "-C",
            str(count),
            "-F",
            "%U",
        ]
        self._proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def result(self, timeout: float) -> dict[str, Any]:
        try:
            out, err = self._proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            out, err = self._proc.communicate()
        stamps = [float(line) for line in out.split() if line.strip()]
        if len(stamps) < 2:
            return {"received": len(stamps), "rate": 0.0, "error": err[-300:]}
        span = stamps[-1] - stamps[0]
        return {
            "received": len(stamps),
            "first": stamps[0],
            "last": stamps[-1],
            "span_s": round(span, 3),
            "rate": round((len(stamps) - 1) / span, 1) if span > 0 else 0.0,
        }


def _watch_ingest(stats: Any, target_points: int, timeout: float) -> dict[str, Any]:
    """Poll the ingest counters until ``target_points`` are written; first receive and last write times."""
    base_rx = stats.value("messages_received")
    first = done = None
    deadline = time.monotonic() + timeout
    last_points, last_received, last_change = 0, base_rx, time.monotonic()
    peak_unacked = 0.0
    while time.monotonic() < deadline:
        now = time.time()
        peak_unacked = max(peak_unacked, stats.gauges().get("ingest_unacked", 0.0))
        if first is None and stats.value("messages_received") > base_rx:
            first = now
        points = stats.value("points_written")
        received = stats.value("messages_received")
        if (points, received) != (last_points, last_received):
            # Births arrive first and make no points: under load, connecting the fleet takes a while.
            last_points, last_received, last_change = points, received, time.monotonic()
        if points >= target_points:
            done = now
            break
        if first is not None and time.monotonic() - last_change > 20:
            break  # stalled: report what arrived
        time.sleep(0.02)
    return {
        "first": first,
        "done": done,
        "points_written": last_points,
        "peak_unacked": peak_unacked,
        "snapshot": stats.snapshot(),
    }


def _count_in_tsdb(url: str, prefix: str) -> int:
    httpx.get(f"{url}/internal/force_flush", timeout=30)
    response = httpx.post(
        f"{url}/api/v1/export", data={"match[]": f'telemetry_seq{{device=~"stb-{prefix}-.*"}}'}, timeout=120
    )
    response.raise_for_status()
    import json

    return sum(len(json.loads(line)["values"]) for line in response.text.splitlines() if line.strip())


def run(stations: int, messages: int, processes: int, receive_maximum: int) -> dict[str, Any]:
    total = stations * messages
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        victoria = VictoriaService(data_dir=tmp / "victoria")
        victoria.start()
        try:
            with broker_with_fleet(tmp, stations, prefix="ing") as fleet:
                settings = controller_settings(tmp, fleet, victoria.url).model_copy(
                    update={"mqtt_receive_maximum": receive_maximum}
                )
                seed_registry(settings.database_url, fleet.creds)
                engine = make_engine(settings.database_url)
                runtime = build_ingest(settings, make_session_factory(engine), client_id="bench-ingest")
                runtime.start()
                try:
                    while not runtime.ready():
                        time.sleep(0.05)
                    drain = SubDrain(
                        fleet.broker.host,
                        fleet.broker.port,
                        fleet.drain_username,
                        fleet.drain_password,
                        total,
                    )
                    time.sleep(1.0)  # let mosquitto_sub subscribe
                    summary: list[SimulationSummary] = []
                    config = SimulationConfig(
                        credentials=tuple(fleet.creds),
                        interval_s=0.0,
                        messages_per_device=messages,
                        processes=processes,
                        connect_rate_per_s=1000.0,
                        report_interval_s=1.0,
                    )
                    sim = threading.Thread(target=lambda: summary.append(run_simulation(config)))
                    sim.start()
                    watch = _watch_ingest(runtime.stats, total * POINTS_PER_MESSAGE, timeout=600)
                    sim.join()
                    sub = drain.result(timeout=120)
                finally:
                    runtime.stop()
                    engine.dispose()
                stored = _count_in_tsdb(victoria.url, "ing")
        finally:
            victoria.stop()
    return {"receive_maximum": receive_maximum, **_report(stations, messages, summary[0], watch, sub, stored)}


def _report(
    stations: int,
    messages: int,
    sim: SimulationSummary,
    watch: dict[str, Any],
    sub: dict[str, Any],
    stored: int,
) -> dict[str, Any]:
    total = stations * messages
    sent = sim.stats.telemetry_acked
    ingest_span = (watch["done"] or time.time()) - (watch["first"] or time.time())
    ingest_rate = (watch["points_written"] / POINTS_PER_MESSAGE) / ingest_span if ingest_span > 0 else 0.0
    ratio = ingest_rate / sub["rate"] if sub.get("rate") else 0.0
    out = {
        "stations": stations,
        "messages_per_station": messages,
        "messages": total,
        "sent_acked": sent,
        "simulator_publish_rate": round(sim.messages_per_s, 1),
        "ingest_rate_msgs_per_s": round(ingest_rate, 1),
        "ingest_points_per_s": round(ingest_rate * 2, 1),
        "mosquitto_sub": sub,
        "ratio": round(ratio, 3),
        "stored_in_tsdb": stored,
        "lost": sent - stored,
        "peak_unacked": watch["peak_unacked"],
        "ingest_snapshot": watch["snapshot"],
    }
    print(f"messages sent (acked by broker): {sent} of {total}")
    print(f"mosquitto_sub drained {sub['received']} at {sub.get('rate', 0):.0f} msg/s")
    print(
        f"controller ingest: {watch['points_written'] // POINTS_PER_MESSAGE} msgs at {ingest_rate:.0f} msg/s"
    )
    print(f"ratio ingest / mosquitto_sub = {ratio:.2f}  (target >= 0.8)")
    print(f"stored in VictoriaMetrics: {stored}; lost: {sent - stored}  (target 0)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=20, help="telemetry messages per station")
    parser.add_argument("--processes", type=int, default=1, help="simulator processes")
    parser.add_argument(
        "--receive-maximum", type=int, default=20_000, help="unacked uplinks the broker may send us"
    )
    args = parser.parse_args()
    write_result("ingest", run(args.stations, args.messages, args.processes, args.receive_maximum))


if __name__ == "__main__":
    main()
