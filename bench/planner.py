"""Rollout planner speed and plan quality for a province: 50,000 stations (target ≤ 2 s per plan).

Synthetic fleet, seeded: bundle deltas of 0.2–4 GB (a quarter of the stations a full 4 GB bundle, the
rest deltas), links of 2–8 Mbit/s, five time zones' worth of offsets (all real IANA zones), a 00:30–05:30
local window, an origin of 1 Gbit/s. Each plan runs the discrete-event simulation in
station_controller.campaigns.planner, the same code as ``stationctl rollout plan``. Prints wall time
(best and median of N runs), nights needed beside the physical lower bound, and first-night efficiency.

    .venv/bin/python bench/planner.py [--stations 50000] [--repeat 5] [--origin-mbit 1000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime

from _common import write_result

from station_controller.campaigns.planner import Plan, StationLoad, simulate
from station_controller.campaigns.windows import Window

ZONES = ("Asia/Shanghai", "Asia/Urumqi", "Asia/Kathmandu", "Asia/Bangkok", "Asia/Tokyo")
GB = 1e9


def fleet(stations: int, seed: int = 7) -> list[StationLoad]:
    rng = random.Random(seed)
    loads = []
    for _ in range(stations):
        size = 4 * GB if rng.random() < 0.25 else rng.uniform(0.2, 1.5) * GB
        loads.append(StationLoad(int(size), rng.uniform(2e6, 8e6), rng.choice(ZONES)))
    return loads


def run(loads: list[StationLoad], origin_bps: float) -> tuple[float, Plan]:
    started = time.perf_counter()
    plan = simulate(
        loads,
        window=Window.parse("00:30", "05:30"),
        origin_bps=origin_bps,
        start=datetime(2026, 6, 1, 4, 0, tzinfo=UTC),
        max_nights=120,
    )
    return time.perf_counter() - started, plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--origin-mbit", type=float, default=1000.0)
    args = parser.parse_args()
    loads = fleet(args.stations)
    times: list[float] = []
    plan: Plan | None = None
    for _ in range(args.repeat):
        seconds, plan = run(loads, args.origin_mbit * 1e6)
        times.append(seconds)
    assert plan is not None
    first = plan.nights[0]
    figures = {
        "stations": args.stations,
        "total_tb": round(plan.total_bytes / 1e12, 2),
        "origin_mbit": args.origin_mbit,
        "best_s": round(min(times), 3),
        "median_s": round(statistics.median(times), 3),
        "target_s": 2.0,
        "nights_needed": plan.nights_needed,
        "lower_bound_nights": plan.lower_bound_nights,
        "first_night_tb": round(first.delivered_bytes / 1e12, 3),
        "first_night_bound_tb": round(first.bound_bytes / 1e12, 3),
        "first_night_efficiency": round(plan.first_night_efficiency or 0.0, 4),
    }
    for key, value in figures.items():
        print(f"{key:>24}: {value}")
    write_result("planner", figures)


if __name__ == "__main__":
    main()
