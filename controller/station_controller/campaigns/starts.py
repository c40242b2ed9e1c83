"""Per-device actions of the scheduler: start an attempt, cancel a running one, record a failure."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from station_protocol import new_id

from ..commands.models import CommandRecord
from ..commands.publisher import CommandPublisher
from ..commands.service import send_command
from ..errors import ControllerError, DeviceUnreachable
from ..settings import Settings
from .models import Campaign, CampaignDevice
from .payloads import CommandSender, PayloadAction, StartSpec, cancel_id
from .policy import RetryPolicy
from .service import history
from .spec import Schedule
from .windows import zone

log = logging.getLogger(__name__)


def make_sender(session: Session, settings: Settings, publisher: CommandPublisher | None) -> CommandSender:
    """A CommandSender on commands.service.send_command (which commits and records the command)."""

    def send(*, device_id: str, name: str, args: dict[str, Any], command_id: str) -> None:
        send_command(
            session,
            settings=settings,
            publisher=publisher,
            device_id=device_id,
            name=name,
            args=args,
            command_id=command_id,
            created_by="campaign",
        )

    return send


def outside_window(dev: CampaignDevice, schedule: Schedule, now: datetime) -> datetime | None:
    """When the device's next window opens, if ``now`` is outside it; None when it may start now."""
    if schedule.window is None or schedule.window.all_day:
        return None
    tz = zone(dev.timezone)
    begin, _end = schedule.window.current_or_next(now, tz)
    return None if begin <= now else begin


def start_spec(campaign: Campaign, dev: CampaignDevice, schedule: Schedule, now: datetime) -> StartSpec:
    offset = now.astimezone(zone(dev.timezone)).utcoffset() or timedelta(0)
    return StartSpec(
        job_id=dev.job_id or "",
        payload=campaign.payload,
        window=schedule.window,
        utc_offset_min=int(offset.total_seconds() // 60),
        rate_bps=campaign.device_rate_bps,
        not_after=schedule.ends_at if schedule.end_behavior == "cancel" else None,
    )


def start_device(
    session: Session,
    *,
    campaign: Campaign,
    dev: CampaignDevice,
    action: PayloadAction,
    schedule: Schedule,
    send: CommandSender,
    retries: RetryPolicy,
    now: datetime,
    retry_after_s: float,
) -> bool:
    """Mark the attempt running (committed first: a restart then resends the same job id, never a new
    one), then send it. Returns False when the broker is down (the device goes back to pending)."""
    dev.state, dev.job_id, dev.status = "running", new_id(), "starting"
    dev.attempts += 1
    dev.started_at = dev.updated_at = now
    dev.not_before, dev.bytes_done, dev.rate_bps, dev.eta_s = None, 0, None, None
    dev.failure_type = dev.error = None
    history(session, campaign.id, now, "attempt", dev.device_id, attempt=dev.attempts, job_id=dev.job_id)
    session.commit()
    try:
        action.start(
            session, device_id=dev.device_id, spec=start_spec(campaign, dev, schedule, now), send=send
        )
    except DeviceUnreachable as exc:
        log.warning(
            "%s campaign %s: not started, broker unreachable: %s", dev.device_id, campaign.name, exc.detail
        )
        dev.state, dev.job_id, dev.status = "pending", None, None
        dev.attempts -= 1
        dev.not_before = now + timedelta(seconds=retry_after_s)
        session.commit()
        return False
    except ControllerError as exc:
        session.rollback()
        record_failure(
            session,
            campaign=campaign,
            dev=dev,
            failure_type="start_failed",
            error=exc.detail,
            retryable=False,
            retries=retries,
            now=now,
        )
        session.commit()
    return True


def resend_lost_starts(
    session: Session,
    *,
    campaign: Campaign,
    action: PayloadAction,
    schedule: Schedule,
    send: CommandSender,
    now: datetime,
) -> int:
    """After a restart: attempts marked running whose command was never recorded (the controller died
    between the two commits) are sent again with the same job id; nothing else is resent."""
    stmt = (
        select(CampaignDevice)
        .outerjoin(CommandRecord, CommandRecord.id == CampaignDevice.job_id)
        .where(
            CampaignDevice.campaign_id == campaign.id,
            CampaignDevice.state == "running",
            CommandRecord.id.is_(None),
        )
    )
    lost = list(session.scalars(stmt))
    for dev in lost:
        log.info(
            "%s campaign %s: resending job %s lost in a restart", dev.device_id, campaign.name, dev.job_id
        )
        try:
            action.start(
                session, device_id=dev.device_id, spec=start_spec(campaign, dev, schedule, now), send=send
            )
        except ControllerError as exc:
            log.warning("%s campaign %s: resend failed: %s", dev.device_id, campaign.name, exc.detail)
    return len(lost)


def cancel_device(
    session: Session,
    *,
    campaign: Campaign,
    dev: CampaignDevice,
    action: PayloadAction,
    send: CommandSender,
    now: datetime,
) -> None:
    """Tell the device to stop the job (once, even across restarts) and mark it cancelled."""
    if dev.job_id and session.get(CommandRecord, cancel_id(dev.job_id)) is None:
        try:
            action.cancel(session, device_id=dev.device_id, job_id=dev.job_id, send=send)
        except ControllerError as exc:  # the agent's own not_after/expiry ends it eventually
            log.warning("%s campaign %s: cancel not sent: %s", dev.device_id, campaign.name, exc.detail)
    dev.state, dev.status, dev.finished_at, dev.updated_at = "cancelled", "cancelled", now, now
    history(session, campaign.id, now, "cancelled", dev.device_id, job_id=dev.job_id)


def record_failure(
    session: Session,
    *,
    campaign: Campaign,
    dev: CampaignDevice,
    failure_type: str,
    error: str | None,
    retryable: bool,
    retries: RetryPolicy,
    now: datetime,
) -> None:
    """Count the failure by type; schedule a retry with backoff, or mark the device failed."""
    counts = dict(dev.failures or {})
    counts[failure_type] = int(counts.get(failure_type, 0)) + 1
    dev.failures, dev.failure_type, dev.error = counts, failure_type, (error or failure_type)[:1024]
    dev.updated_at, dev.rate_bps, dev.eta_s = now, None, None
    delay = retries.next_delay(failure_type, counts[failure_type], dev.device_id) if retryable else None
    if delay is None:
        dev.state, dev.status, dev.finished_at = "failed", "failed", now
        history(
            session, campaign.id, now, "failed", dev.device_id, failure_type=failure_type, error=dev.error
        )
        log.warning("%s campaign %s failed (%s): %s", dev.device_id, campaign.name, failure_type, dev.error)
        return
    dev.state, dev.status = "retry_wait", "retry_wait"
    dev.not_before = now + timedelta(seconds=delay)
    history(
        session,
        campaign.id,
        now,
        "retry",
        dev.device_id,
        failure_type=failure_type,
        error=dev.error,
        retry_in_s=round(delay),
    )
