"""API shapes of campaigns: the create request (target, schedule, waves, thresholds, retries) and views."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..api.types import UtcDateTime


class TargetSpec(BaseModel):
    """Devices in ANY of ``regions`` (subtrees) AND on a station with ANY of ``tags`` AND in ``stations``
    (each list only when given) AND of ``role`` (default: the payload's role, ``stb`` for content)."""

    regions: list[str] = Field(default_factory=list, max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=50)
    stations: list[str] = Field(default_factory=list, max_length=50_000)
    role: Literal["stb", "router"] | None = None


class ScheduleSpec(BaseModel):
    """A daily window in each station's local time (region time zone); ``end < start`` spans midnight."""

    window_start: str | None = Field(default="00:30", examples=["23:00"])
    window_end: str | None = Field(default="05:30", examples=["06:00"])
    starts_at: UtcDateTime | None = None
    ends_at: UtcDateTime | None = None
    end_behavior: Literal["stop", "cancel"] = "stop"  # at ends_at: no new starts / also cancel running
    continuous: bool = False  # keep running for devices that appear later, until ends_at or cancel


class WaveSpec(BaseModel):
    canary: list[str] = Field(default_factory=list, max_length=100, description="station codes")
    percentages: list[float] = Field(default_factory=lambda: [10.0, 50.0, 100.0], max_length=50)
    exponential_base: int | None = Field(default=None, ge=1)
    exponential_factor: float = Field(default=2.0, ge=1.0)


class ThresholdSpec(BaseModel):
    success_pct: float = Field(default=95.0, gt=0, le=100)
    error_pct: float = Field(default=10.0, ge=0, lt=100)
    min_sample: int = Field(default=10, ge=1)
    on_success: Literal["next", "pause"] = "next"
    on_error: Literal["pause", "abort"] = "pause"


class RetryOverride(BaseModel):
    retries: int = Field(ge=0, le=10)
    backoff_s: float = Field(default=300.0, ge=0)
    factor: float = Field(default=2.0, ge=1.0)


class CampaignCreate(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    payload_kind: str = "content"
    payload: dict[str, Any] = Field(examples=[{"bundle": "courseware-math", "version": "2026.05"}])
    target: TargetSpec
    schedule: ScheduleSpec = Field(default_factory=ScheduleSpec)
    waves: WaveSpec = Field(default_factory=WaveSpec)
    thresholds: ThresholdSpec = Field(default_factory=ThresholdSpec)
    retries: dict[str, RetryOverride] = Field(default_factory=dict)
    rate_cap_bps: int | None = Field(default=None, gt=0, description="this campaign's share of the origin")
    device_rate_bps: int | None = Field(default=None, gt=0, description="per-device cap")
    max_active: int | None = Field(default=None, ge=1, le=100_000)


class CampaignOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    payload_kind: str
    payload: dict[str, Any]
    target: dict[str, Any]
    schedule: dict[str, Any]
    waves: dict[str, Any]
    thresholds: dict[str, Any]
    retries: dict[str, Any]
    rate_cap_bps: int | None
    device_rate_bps: int | None
    max_active: int
    state: str
    reason: str | None
    current_wave: int
    wave_count: int
    created_by: str | None
    created_at: UtcDateTime
    started_at: UtcDateTime | None
    finished_at: UtcDateTime | None


class Counts(BaseModel):
    total: int = 0
    pending: int = 0
    running: int = 0
    retry_wait: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    skipped: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    rate_bps: float = 0.0


class GroupProgress(Counts):
    key: str


class Progress(BaseModel):
    campaign: CampaignOut
    overall: Counts
    waves: list[GroupProgress]
    regions: list[GroupProgress]
    failures: list[GroupProgress]  # key = failure type
    eta_s: float | None


class CampaignDeviceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    device_id: str
    station_code: str
    region_path: str
    wave: int
    state: str
    status: str | None
    attempts: int
    failures: dict[str, Any]
    job_id: str | None
    bytes_done: int
    bytes_total: int | None
    rate_bps: float | None
    eta_s: float | None
    failure_type: str | None
    error: str | None
    not_before: UtcDateTime | None
    started_at: UtcDateTime | None
    finished_at: UtcDateTime | None


class CampaignDevicePage(BaseModel):
    items: list[CampaignDeviceOut]
    total: int


class CampaignEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: UtcDateTime
    kind: str
    device_id: str | None
    detail: dict[str, Any]


class PlanRequest(BaseModel):
    origin_bps: int | None = Field(default=None, gt=0, description="default: the campaign's rate cap")
    link_bps: int = Field(default=4_000_000, gt=0, description="assumed link speed where none is known")
    max_nights: int = Field(default=60, ge=1, le=365)
