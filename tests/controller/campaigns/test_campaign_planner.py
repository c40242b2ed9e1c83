"""The planner against hand-computed cases: link-bound, origin-bound, windows in two zones, max_active."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from station_controller.campaigns.planner import StationLoad, simulate
from station_controller.campaigns.windows import Window

NOON = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)  # 12:00 Beijing: the first window opens 12 h later
ONE_HOUR = Window.parse("00:00", "01:00")
GB = 10**9


def test_one_link_bound_station_needs_ceil_of_size_over_link_times_window_nights() -> None:
    # 10 GB at 8 Mbit/s (1 MB/s) in 1 h windows: 3.6 GB per night → 3 nights, 3.6, 3.6, 2.8 GB.
    plan = simulate([StationLoad(10 * GB, 8e6)], window=ONE_HOUR, origin_bps=1e9, start=NOON)
    assert plan.nights_needed == 3
    assert plan.lower_bound_nights == 3
    assert [round(n.delivered_bytes / 1e8) for n in plan.nights] == [36, 36, 28]
    assert plan.nights[0].bound_bytes == pytest.approx(3.6 * GB)


def test_the_origin_cap_is_shared_and_bounds_the_night() -> None:
    # 10 stations × 1 GB, links 8 Mbit/s, origin 16 Mbit/s (2 MB/s): 7.2 GB per 1 h night → 2 nights.
    loads = [StationLoad(GB, 8e6) for _ in range(10)]
    plan = simulate(loads, window=ONE_HOUR, origin_bps=16e6, start=NOON)
    assert plan.nights_needed == 2
    assert plan.lower_bound_nights == 2
    assert plan.nights[0].delivered_bytes == pytest.approx(7.2 * GB)
    assert plan.nights[0].completed == 6  # three rounds of two stations at 1 MB/s, 1000 s each
    assert plan.first_night_efficiency == pytest.approx(1.0)
    assert plan.nights[1].delivered_bytes == pytest.approx(2.8 * GB)


def test_a_slow_admitted_station_leaves_no_origin_capacity_idle() -> None:
    # Origin 10 Mbit/s, links 4 Mbit/s: two full-speed stations and a third at 2 Mbit/s, topped up later.
    loads = [StationLoad(450_000_000, 4e6) for _ in range(3)]
    plan = simulate(loads, window=ONE_HOUR, origin_bps=10e6, start=NOON)
    # Total 1.35 GB at 1.25 MB/s = 1080 s when the origin stays saturated; 4 Mbit/s alone could do 1.8 GB/h.
    assert plan.nights_needed == 1
    assert plan.nights[0].delivered_bytes == pytest.approx(1.35e9)


def test_max_active_limits_concurrency_like_the_scheduler() -> None:
    loads = [StationLoad(GB, 8e6) for _ in range(4)]
    plan = simulate(loads, window=ONE_HOUR, origin_bps=1e9, start=NOON, max_active=1)
    assert plan.nights[0].delivered_bytes == pytest.approx(3.6 * GB)  # one 1 MB/s link at a time
    assert plan.nights_needed == 2
    assert plan.lower_bound_nights == 1


def test_windows_in_two_zones_give_the_origin_their_union() -> None:
    # Beijing and Kathmandu (2 h 15 min behind) 1 h windows do not overlap: the origin serves 2 h a night.
    loads = [StationLoad(GB, 8e6, "Asia/Shanghai"), StationLoad(GB, 8e6, "Asia/Kathmandu")] * 5
    plan = simulate(loads, window=ONE_HOUR, origin_bps=8e6, start=NOON)
    assert plan.nights[0].bound_bytes == pytest.approx(7.2 * GB)
    assert plan.nights[0].delivered_bytes == pytest.approx(7.2 * GB)
    assert plan.lower_bound_nights == math.ceil(10 / 7.2) == plan.nights_needed


def test_a_station_with_nothing_to_fetch_is_done_and_unfinished_plans_say_so() -> None:
    plan = simulate([StationLoad(0, 8e6)], window=ONE_HOUR, origin_bps=1e9, start=NOON)
    assert plan.completed == 1
    assert plan.nights_needed == 0
    plan = simulate([StationLoad(100 * GB, 8e6)], window=ONE_HOUR, origin_bps=1e9, start=NOON, max_nights=5)
    assert plan.nights_needed is None
    assert plan.lower_bound_nights is None
    assert plan.completed == 0
