"""stationctl rollout: arguments become the API body; plans and progress render with their figures."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console

from stationctl.cli import build_parser
from stationctl.rollout import create_body, parse_rate, plan_table, progress_view


def render(renderable: Any) -> str:
    console = Console(width=160, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_create_arguments_become_the_campaign_body() -> None:
    args = build_parser().parse_args(
        [
            "rollout",
            "create",
            "--name",
            "june",
            "--bundle",
            "math",
            "--region",
            "河南省/南阳市",
            "--region",
            "河南省/郑州市",
            "--tag",
            "school",
            "--window",
            "23:00-05:00",
            "--canary",
            "S1,S2",
            "--waves",
            "5,25,100",
            "--rate-cap",
            "800M",
            "--device-rate",
            "4M",
            "--retry",
            "http_error=3:120",
            "--on-error",
            "abort",
        ]
    )
    body = create_body(args)
    assert body["target"] == {
        "regions": ["河南省/南阳市", "河南省/郑州市"],
        "tags": ["school"],
        "stations": [],
        "role": None,
    }
    assert (body["schedule"]["window_start"], body["schedule"]["window_end"]) == ("23:00", "05:00")
    assert body["waves"] == {"canary": ["S1", "S2"], "percentages": [5.0, 25.0, 100.0]}
    assert (body["rate_cap_bps"], body["device_rate_bps"]) == (800_000_000, 4_000_000)
    assert body["retries"] == {"http_error": {"retries": 3, "backoff_s": 120.0}}
    assert body["thresholds"]["on_error"] == "abort"
    assert body["payload"] == {"bundle": "math", "version": "latest"}


def test_exponential_waves_and_any_time_windows() -> None:
    args = build_parser().parse_args(
        [
            "rollout",
            "create",
            "--name",
            "x",
            "--bundle",
            "b",
            "--station",
            "S9",
            "--window",
            "any",
            "--exponential",
            "20:1.5",
        ]
    )
    body = create_body(args)
    assert body["waves"] == {"canary": [], "exponential_base": 20, "exponential_factor": 1.5}
    assert body["schedule"]["window_start"] is None


@pytest.mark.parametrize(
    ("text", "bps"), [("4M", 4_000_000), ("512k", 512_000), ("1G", 10**9), ("2500", 2500)]
)
def test_rates(text: str, bps: int) -> None:
    assert parse_rate(text) == bps


def test_plan_and_progress_render_their_figures() -> None:
    plan = {
        "campaign": "june",
        "stations": 3,
        "total_bytes": 3 * 10**9,
        "origin_bps": 16_000_000,
        "window": "00:00–01:00 local",
        "nights_needed": 2,
        "lower_bound_nights": 2,
        "first_night_efficiency": 1.0,
        "nights": [
            {"index": 0, "delivered_bytes": 7_200_000_000, "bound_bytes": 7_200_000_000, "completed": 6}
        ],
    }
    text = render(plan_table(plan))
    assert "nights needed: 2" in text
    assert "physical lower bound: 2" in text
    assert "7.20 GB" in text
    assert "100%" in text
    group = {
        "key": "0",
        "total": 4,
        "pending": 1,
        "running": 1,
        "retry_wait": 0,
        "succeeded": 1,
        "failed": 1,
        "cancelled": 0,
        "skipped": 0,
        "bytes_done": 10**6,
        "bytes_total": 4 * 10**6,
        "rate_bps": 4e6,
    }
    campaign = {
        "id": 7,
        "name": "june",
        "state": "paused",
        "current_wave": 0,
        "wave_count": 2,
        "reason": "error threshold: 1 of 2 finished devices failed",
    }
    progress = {
        "campaign": campaign,
        "waves": [group],
        "regions": [dict(group, key="河南省/南阳市")],
        "failures": [dict(group, key="disk_space", total=1)],
        "eta_s": 5400.0,
    }
    text = render(progress_view(progress))
    assert "state paused" in text
    assert "ETA 1h 30m" in text
    assert "wave 0" in text
    assert "河南省/南阳市" in text
    assert "disk_space" in text
    assert "error threshold" in text
