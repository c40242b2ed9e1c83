"""Lesson API bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class LessonCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=8, max_length=2048, examples=["http://10.8.0.1:8090/live/master.m3u8"])
    starts_local: datetime = Field(description="station-local time, no offset (e.g. 2026-12-03T09:00)")
    ends_local: datetime
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    regions: list[str] = Field(default_factory=list, max_length=100)
    stations: list[str] = Field(default_factory=list, max_length=10_000)
    tags: list[str] = Field(default_factory=list, max_length=100)


class LessonOut(BaseModel):
    id: int
    title: str
    url: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    regions: list[str]
    stations: list[str]
    tags: list[str]
    created_by: str | None

    model_config = {"from_attributes": True}
