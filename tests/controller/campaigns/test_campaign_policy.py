"""Pure policy: window math across midnight and time zones, wave sizes, thresholds, retry backoff."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from station_controller.campaigns.policy import RetryPolicy, Tally, Thresholds, error_tripped, evaluate
from station_controller.campaigns.waves import WavePlan, assign_waves, cumulative_sizes, join_wave
from station_controller.campaigns.windows import Window, zone
from station_controller.errors import InvalidInput

NIGHT = Window.parse("23:00", "05:00")
SHANGHAI, KATHMANDU, BERLIN = zone("Asia/Shanghai"), zone("Asia/Kathmandu"), zone("Europe/Berlin")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        ("2026-06-01T14:59", False),  # 22:59 Beijing
        ("2026-06-01T15:00", True),  # 23:00
        ("2026-06-01T16:30", True),  # 00:30 the next day: the window spans midnight
        ("2026-06-01T20:59", True),  # 04:59
        ("2026-06-01T21:00", False),  # 05:00: the end is exclusive
    ],
)
def test_a_window_across_midnight_in_beijing_time(moment: str, inside: bool) -> None:
    assert NIGHT.contains(utc(moment), SHANGHAI) is inside


def test_current_or_next_window_in_utc() -> None:
    assert NIGHT.current_or_next(utc("2026-06-01T16:30"), SHANGHAI) == (
        utc("2026-06-01T15:00"),
        utc("2026-06-01T21:00"),
    )
    assert NIGHT.current_or_next(utc("2026-06-01T21:00"), SHANGHAI)[0] == utc("2026-06-02T15:00")


def test_the_same_local_window_is_a_different_utc_interval_per_zone() -> None:
    assert NIGHT.current_or_next(utc("2026-06-01T12:00"), KATHMANDU)[0] == utc("2026-06-01T17:15")
    # Berlin summer time is UTC+2: 23:00 local = 21:00 UTC; in winter (UTC+1) it is 22:00 UTC.
    assert NIGHT.current_or_next(utc("2026-06-01T12:00"), BERLIN)[0] == utc("2026-06-01T21:00")
    assert NIGHT.current_or_next(utc("2026-12-01T12:00"), BERLIN)[0] == utc("2026-12-01T22:00")


def test_the_night_of_a_dst_change_is_an_hour_shorter() -> None:
    begin, end = NIGHT.current_or_next(utc("2026-03-28T12:00"), BERLIN)  # clocks go forward at 02:00
    assert (end - begin).total_seconds() == 5 * 3600


def test_intervals_clip_to_the_range_and_a_same_day_window() -> None:
    day = Window(time(1, 0), time(3, 0))
    spans = list(day.intervals(utc("2026-06-01T17:30"), utc("2026-06-03T00:00"), SHANGHAI))
    assert spans == [
        (utc("2026-06-01T17:30"), utc("2026-06-01T19:00")),
        (utc("2026-06-02T17:00"), utc("2026-06-02T19:00")),
    ]
    assert NIGHT.length_s() == 6 * 3600
    assert day.length_s() == 2 * 3600


def test_bad_window_times_and_zones_say_what_to_write() -> None:
    with pytest.raises(InvalidInput, match="HH:MM"):
        Window.parse("25", "05:00")
    with pytest.raises(InvalidInput, match="IANA"):
        zone("Mars/Olympus")


def test_wave_sizes_by_percentage_and_exponential() -> None:
    assert cumulative_sizes(WavePlan(percentages=(5, 25, 100)), 100) == [5, 25, 100]
    assert cumulative_sizes(WavePlan(percentages=(1, 2, 100)), 10) == [1, 10]  # 1 % and 2 % of 10 → 1
    assert cumulative_sizes(WavePlan(exponential_base=2, exponential_factor=3.0), 30) == [2, 8, 26, 30]
    with pytest.raises(InvalidInput):
        WavePlan(percentages=(50, 20))


def test_canary_stations_are_wave_zero_and_the_rest_is_a_stable_spread() -> None:
    plan = WavePlan(canary=("C1",), percentages=(50, 100))
    devices = [("stb-c1", "C1")] + [(f"stb-{n}", f"S{n}") for n in range(10)]
    waves = assign_waves(plan, 7, devices)
    assert waves["stb-c1"] == 0
    assert sorted(waves.values()).count(1) == 5
    assert sorted(waves.values()).count(2) == 5
    assert assign_waves(plan, 7, list(reversed(devices))) == waves
    assert join_wave(plan, 0, "S99") == 1  # a late device never widens the canary
    assert join_wave(plan, 2, "C1") == 0


def test_the_error_threshold_waits_for_the_minimum_sample() -> None:
    rule = Thresholds(error_pct=20, min_sample=5)
    assert not error_tripped(rule, Tally(failed=1, active=9))  # 1 of 1 finished, but only 1 < 5
    assert not error_tripped(rule, Tally(succeeded=4, failed=1, active=5))  # 20 % is not above 20 %
    assert error_tripped(rule, Tally(succeeded=3, failed=2, active=5))  # 40 % of 5 finished
    assert error_tripped(rule, Tally(failed=1))  # everyone answered: the sample is complete


def decide(rule: Thresholds, wave: Tally, *, last: bool = False) -> str:
    return evaluate(rule, wave=wave, admitted=wave, last_wave=last)


def test_threshold_decisions() -> None:
    rule = Thresholds(success_pct=80, error_pct=10, min_sample=2, on_success="pause", on_error="abort")
    assert decide(rule, Tally(succeeded=7, active=3)) == "continue"
    assert decide(rule, Tally(succeeded=8, active=2)) == "pause"
    assert decide(rule, Tally(succeeded=1, failed=1)) == "abort"
    assert decide(Thresholds(), Tally(succeeded=10), last=True) == "done"
    assert decide(Thresholds(), Tally(succeeded=10)) == "next_wave"
    assert decide(Thresholds(), Tally(succeeded=9, active=1), last=True) == "continue"


def test_retry_backoff_grows_per_failure_type_and_runs_out() -> None:
    policy = RetryPolicy.from_overrides({"http_error": {"retries": 3, "backoff_s": 100}})
    delays = [policy.next_delay("http_error", n, "stb-1") for n in (1, 2, 3, 4)]
    assert all(0.8 * b <= d <= 1.2 * b for d, b in zip(delays[:3], (100, 200, 400), strict=True) if d)
    assert delays[3] is None
    assert policy.next_delay("bad_signature", 1, "stb-1") is None
    assert policy.next_delay("something_new", 1, "stb-1") is not None  # unknown types use "other"
    with pytest.raises(InvalidInput):
        RetryPolicy.from_overrides({"http_error": {"retries": 11}})
