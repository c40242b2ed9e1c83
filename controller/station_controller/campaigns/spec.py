"""Policy objects (waves, thresholds, retries, window, schedule) rebuilt from a stored campaign row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..kernel.clock import as_utc
from .models import Campaign
from .policy import RetryPolicy, Thresholds
from .waves import WavePlan
from .windows import Window


@dataclass(frozen=True)
class Schedule:
    window: Window | None
    starts_at: datetime | None
    ends_at: datetime | None
    end_behavior: str
    continuous: bool


def _when(value: Any) -> datetime | None:
    return as_utc(datetime.fromisoformat(value)) if value else None


def schedule_of(raw: dict[str, Any]) -> Schedule:
    start, end = raw.get("window_start"), raw.get("window_end")
    return Schedule(
        window=Window.parse(start, end) if start and end else None,
        starts_at=_when(raw.get("starts_at")),
        ends_at=_when(raw.get("ends_at")),
        end_behavior=str(raw.get("end_behavior") or "stop"),
        continuous=bool(raw.get("continuous", False)),
    )


def wave_plan_of(raw: dict[str, Any]) -> WavePlan:
    return WavePlan(
        canary=tuple(raw.get("canary") or ()),
        percentages=tuple(float(p) for p in raw.get("percentages") or (100.0,)),
        exponential_base=raw.get("exponential_base"),
        exponential_factor=float(raw.get("exponential_factor") or 2.0),
    )


def thresholds_of(raw: dict[str, Any]) -> Thresholds:
    return Thresholds(**{k: v for k, v in raw.items() if k != "baseline"})


def baseline_of(raw: dict[str, Any]) -> tuple[int, int]:
    """(finished, failed) acknowledged at the last resume; the error threshold counts from there."""
    base = raw.get("baseline") or {}
    return int(base.get("finished", 0)), int(base.get("failed", 0))


@dataclass(frozen=True)
class CampaignPolicy:
    """Everything the scheduler needs to decide about one campaign."""

    schedule: Schedule
    waves: WavePlan
    thresholds: Thresholds
    retries: RetryPolicy

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignPolicy:
        return cls(
            schedule=schedule_of(campaign.schedule),
            waves=wave_plan_of(campaign.waves),
            thresholds=thresholds_of(campaign.thresholds),
            retries=RetryPolicy.from_overrides(campaign.retries),
        )
