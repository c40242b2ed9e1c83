"""How many live stations one controller holds: ramp simulated sessions 1,000 → 2,000 → 5,000 → ...

Each step runs N simulated STBs (real MQTT sessions, one credential each) for a hold period against one
broker and one controller ingest (SQLite registry, VictoriaMetrics). A step is "held" when the ingest
lag (telemetry acknowledged by the broker minus telemetry the ingest wrote) stays bounded during the
hold and the controller's devices_online equals the connected sessions. Prints the largest N held.

    .venv/bin/python bench/sessions.py [--steps 1000,2000,5000,10000,20000] [--interval 10] [--hold 45]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import broker_with_fleet, controller_settings, seed_registry, write_result

from station_controller.db import make_engine, make_session_factory
from station_controller.devstack import VictoriaService
from station_controller.ingest.runtime import IngestRuntime, build_ingest
from station_simulator import SimulationConfig, run_simulation
from station_simulator.config import WorkerStats

POINTS_PER_MESSAGE = 2


def _lift_fd_limit(sessions: int) -> None:
    """The broker inherits our limit and needs a descriptor per session (root may raise the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(soft, sessions + 1024)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class LiveSim:
    """A simulation on a background thread with its latest aggregate counters."""

    def __init__(self, config: SimulationConfig) -> None:
        self.latest = WorkerStats()
        self.summary: Any = None
        self._thread = threading.Thread(target=self._run, args=(config,), daemon=True)
        self._thread.start()

    def _run(self, config: SimulationConfig) -> None:
        self.summary = run_simulation(config, on_report=self._on_report)

    def _on_report(self, stats: WorkerStats) -> None:
        self.latest = stats

    def join(self) -> None:
        self._thread.join()


def _step(runtime: IngestRuntime, creds: list[Any], n: int, args: argparse.Namespace) -> dict[str, Any]:
    stats = runtime.stats
    base_points = stats.value("points_written")
    ramp = max(args.ramp, n / (500.0 * args.processes) + 5.0)
    config = SimulationConfig(
        credentials=tuple(creds[:n]),
        interval_s=args.interval,
        processes=args.processes,
        duration_s=ramp + args.hold,
        connect_rate_per_s=500.0,
        report_interval_s=1.0,
    )
    sim = LiveSim(config)
    started = time.monotonic()
    while time.monotonic() - started < ramp:
        time.sleep(1.0)
    lags, online_pairs = [], []
    while sim.summary is None and time.monotonic() - started < ramp + args.hold - 2:
        written = (stats.value("points_written") - base_points) // POINTS_PER_MESSAGE
        lags.append(sim.latest.telemetry_acked - written)
        online_pairs.append((sim.latest.connected, int(stats.snapshot().get("devices_online", 0))))
        time.sleep(1.0)
    sim.join()
    time.sleep(args.settle)  # presence flush, then every simulated device said goodbye
    rate = n / args.interval
    bound = max(1000.0, 5 * rate)  # five seconds' worth of telemetry
    tail = lags[-5:] or [0]
    matched = any(conn == online == n for conn, online in online_pairs[-5:])
    held = max(tail) <= bound and matched
    return {
        "stations": n,
        "held": held,
        "max_lag": max(lags or [0]),
        "final_lags": tail,
        "lag_bound": bound,
        "connected_vs_online_last": online_pairs[-5:],
        "telemetry_rate_target": rate,
        "summary": sim.summary.to_dict() if sim.summary else None,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    steps = [int(s) for s in args.steps.split(",")]
    _lift_fd_limit(max(steps))
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        victoria = VictoriaService(data_dir=tmp / "victoria")
        victoria.start()
        try:
            with broker_with_fleet(tmp, max(steps), prefix="ses") as fleet:
                settings = controller_settings(tmp, fleet, victoria.url)
                seed_registry(settings.database_url, fleet.creds)
                engine = make_engine(settings.database_url)
                runtime = build_ingest(settings, make_session_factory(engine), client_id="bench-sessions")
                runtime.start()
                try:
                    for n in steps:
                        result = _step(runtime, fleet.creds, n, args)
                        results.append(result)
                        print(
                            f"{n:6d} stations: {'held' if result['held'] else 'NOT held'}; max lag "
                            f"{result['max_lag']}, last lags {result['final_lags']}, connected/online "
                            f"{result['connected_vs_online_last'][-1:]}",
                            flush=True,
                        )
                        if not result["held"]:
                            break
                finally:
                    runtime.stop()
                    engine.dispose()
        finally:
            victoria.stop()
    largest = max((r["stations"] for r in results if r["held"]), default=0)
    print(f"largest N held: {largest} stations (interval {args.interval:g} s, hold {args.hold:g} s)")
    return {"interval_s": args.interval, "hold_s": args.hold, "largest_held": largest, "steps": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="1000,2000,5000,10000,20000")
    parser.add_argument("--interval", type=float, default=10.0, help="telemetry period per station")
    parser.add_argument("--ramp", type=float, default=20.0, help="seconds for all sessions to connect")
    parser.add_argument("--hold", type=float, default=45.0, help="seconds measured after the ramp")
    parser.add_argument("--settle", type=float, default=3.0)
    parser.add_argument("--processes", type=int, default=2, help="simulator processes")
    write_result("sessions", run(parser.parse_args()))


if __name__ == "__main__":
    main()
