"""Live progress of a campaign: counts and bytes per wave, per region level and per failure type; ETA."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import CampaignDevice
from .schemas import CampaignOut, Counts, GroupProgress, Progress
from .service import get_campaign

STATE_FIELDS = ("pending", "running", "retry_wait", "succeeded", "failed", "cancelled", "skipped")


def _rows(session: Session, campaign_id: int, *group: Any) -> list[Any]:
    stmt = (
        select(
            *group,
            CampaignDevice.state,
            func.count(),
            func.coalesce(func.sum(CampaignDevice.bytes_done), 0),
            func.coalesce(func.sum(CampaignDevice.bytes_total), 0),
            func.coalesce(func.sum(CampaignDevice.rate_bps), 0.0),
        )
        .where(CampaignDevice.campaign_id == campaign_id)
        .group_by(*group, CampaignDevice.state)
    )
    return list(session.execute(stmt).all())


def _fold(rows: list[Any], key_of: Callable[[Any], str]) -> dict[str, GroupProgress]:
    groups: dict[str, GroupProgress] = {}
    for row in rows:
        state, count, done, total, rate = row[-5:]
        key = key_of(row)
        group = groups.setdefault(key, GroupProgress(key=key))
        if state in STATE_FIELDS:
            setattr(group, state, getattr(group, state) + int(count))
        group.total += int(count)
        group.bytes_done += int(done)
        group.bytes_total += int(total)
        group.rate_bps += float(rate) if state == "running" else 0.0
    return groups


def region_prefix(path: str, depth: int) -> str:
    return "/".join(path.split("/")[:depth])


def eta_seconds(overall: Counts) -> float | None:
    """Remaining bytes at the current aggregate rate; devices without a known size count as the mean."""
    sized = overall.running + overall.succeeded
    if overall.rate_bps <= 0 or sized == 0:
        return None
    mean = overall.bytes_total / sized if overall.bytes_total else 0.0
    waiting = overall.pending + overall.retry_wait
    remaining = max(0.0, overall.bytes_total - overall.bytes_done) + mean * waiting
    return remaining * 8.0 / overall.rate_bps


def campaign_progress(session: Session, *, campaign_id: int, region_depth: int = 3) -> Progress:
    """Counts and bytes overall, per wave, per region prefix (``region_depth`` levels), per failure type."""
    campaign = get_campaign(session, campaign_id=campaign_id)
    waves = _fold(_rows(session, campaign_id, CampaignDevice.wave), lambda r: str(r[0]))
    regions = _fold(
        _rows(session, campaign_id, CampaignDevice.region_path), lambda r: region_prefix(r[0], region_depth)
    )
    failure_rows = [r for r in _rows(session, campaign_id, CampaignDevice.failure_type) if r[0]]
    failures = _fold(failure_rows, lambda r: str(r[0]))
    overall = Counts()
    for group in waves.values():
        for name in (*STATE_FIELDS, "total", "bytes_done", "bytes_total", "rate_bps"):
            setattr(overall, name, getattr(overall, name) + getattr(group, name))
    return Progress(
        campaign=CampaignOut.model_validate(campaign),
        overall=overall,
        waves=sorted(waves.values(), key=lambda g: int(g.key)),
        regions=sorted(regions.values(), key=lambda g: g.key),
        failures=sorted(failures.values(), key=lambda g: -g.total),
        eta_s=eta_seconds(overall),
    )
