"""The campaign scheduler: a loop in the controller process; every step is rebuilt from the database."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from ..commands.models import CommandRecord
from ..commands.publisher import CommandPublisher
from ..kernel.clock import as_utc, utcnow
from ..registry.models import Device
from ..settings import Settings
from ..supervisor import SupervisedThread
from .membership import add_members
from .models import Campaign, CampaignDevice
from .payloads import CommandSender, PayloadAction
from .policy import Tally, evaluate
from .service import _transition, history, payload_action
from .spec import CampaignPolicy, baseline_of
from .starts import (
    cancel_device,
    make_sender,
    outside_window,
    record_failure,
    resend_lost_starts,
    start_device,
)

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
WAVE_DONE = "wave {wave} done"  # a pause reason with this prefix makes resume start the next wave
_FAILED_COMMANDS = ("failed", "expired", "timeout", "rejected")


class OriginLimiter(Protocol):
    """The content chunk server's shared token bucket (content.store.origin_limiter())."""

    def set_rate_bps(self, bits_per_s: int) -> None: ...


@dataclass
class StepReport:
    started: int = 0
    cancelled: int = 0
    resent: int = 0
    joined: int = 0
    decisions: dict[str, str] = field(default_factory=dict)


class CampaignScheduler:
    """``step()`` advances every campaign once; ``start()`` runs it every ``campaign_step_s`` in a thread.

    Tests build it with a fake clock and call ``step()`` themselves. A new instance on the same database
    (a restarted controller) continues where the old one stopped: the only in-memory state is whether the
    lost-start check has run.
    """

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        settings: Settings,
        payloads: Mapping[str, PayloadAction],
        publisher: Callable[[], CommandPublisher | None],
        clock: Clock = utcnow,
        limiter: OriginLimiter | None = None,
    ) -> None:
        self._factory = session_factory
        self._settings = settings
        self._payloads = payloads
        self._publisher = publisher
        self._clock = clock
        self._limiter = limiter
        self._limiter_bps: int | None = None
        self._recovered = False
        self._stop = threading.Event()
        self._thread: SupervisedThread | None = None

    def start(self) -> None:
        self._thread = SupervisedThread(name="campaign-scheduler", target=self._run)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.wait(self._settings.campaign_step_s):
            try:
                self.step()
            except Exception:  # a bug in one step must not end rollouts for good
                log.exception("campaign scheduler step failed; retrying next step")

    def step(self) -> StepReport:
        """Advance every active campaign once (and finish cancelling stopped ones)."""
        report = StepReport()
        now = self._clock()
        with self._factory() as session:
            send = make_sender(session, self._settings, self._publisher())
            stmt = select(Campaign).where(Campaign.state.in_(("running", "paused"))).order_by(Campaign.id)
            for campaign in list(session.scalars(stmt)) + self._stopping(session):
                try:
                    self._step_campaign(session, campaign, send, now, report)
                except Exception:
                    session.rollback()
                    log.exception("campaign %s: step failed; retrying next step", campaign.name)
            self._recovered = True
            self._set_origin_cap(session)
        return report

    def _stopping(self, session: Session) -> list[Campaign]:
        """Stopped campaigns that still have running devices to cancel."""
        ids = select(CampaignDevice.campaign_id).where(CampaignDevice.state == "running").distinct()
        stmt = select(Campaign).where(
            Campaign.id.in_(ids), Campaign.state.in_(("cancelled", "aborted", "finished"))
        )
        return list(session.scalars(stmt.order_by(Campaign.id)))

    def _step_campaign(
        self, session: Session, campaign: Campaign, send: CommandSender, now: datetime, report: StepReport
    ) -> None:
        action = payload_action(self._payloads, campaign.payload_kind)
        policy = CampaignPolicy.of(campaign)
        if not self._recovered and campaign.state in ("running", "paused"):
            report.resent += resend_lost_starts(
                session, campaign=campaign, action=action, schedule=policy.schedule, send=send, now=now
            )
        if self._must_cancel_running(campaign, policy):
            report.cancelled += self._cancel_running(session, campaign, action, send, now)
            return
        if campaign.state not in ("running", "paused"):
            return
        if policy.schedule.ends_at is not None and now >= policy.schedule.ends_at:
            self._end(session, campaign, policy, now)
            return
        if policy.schedule.starts_at is not None and now < policy.schedule.starts_at:
            return
        report.joined += self._refresh_members(session, campaign, policy, action, now)
        self._failed_commands(session, campaign, policy, now)
        self._due_retries(session, campaign, now)
        if campaign.state == "running":
            report.decisions[campaign.name] = self._decide(session, campaign, policy, now)
        if campaign.state == "running":
            report.started += self._start_due(session, campaign, policy, action, send, now)
        session.commit()

    def _must_cancel_running(self, campaign: Campaign, policy: CampaignPolicy) -> bool:
        if campaign.state in ("cancelled", "aborted"):
            return True
        return campaign.state == "finished" and policy.schedule.end_behavior == "cancel"

    def _cancel_running(
        self, session: Session, campaign: Campaign, action: PayloadAction, send: CommandSender, now: datetime
    ) -> int:
        stmt = select(CampaignDevice).where(
            CampaignDevice.campaign_id == campaign.id, CampaignDevice.state == "running"
        )
        devices = list(session.scalars(stmt.limit(self._settings.campaign_starts_per_step)))
        for dev in devices:
            cancel_device(session, campaign=campaign, dev=dev, action=action, send=send, now=now)
            session.commit()
        return len(devices)

    def _end(self, session: Session, campaign: Campaign, policy: CampaignPolicy, now: datetime) -> None:
        """The end date: devices not yet started are skipped; running ones finish (stop) or are cancelled."""
        session.execute(
            update(CampaignDevice)
            .where(
                CampaignDevice.campaign_id == campaign.id, CampaignDevice.state.in_(("pending", "retry_wait"))
            )
            .values(
                state="skipped",
                status="skipped",
                error="campaign ended before this device finished",
                finished_at=now,
                updated_at=now,
            )
        )
        behaviour = policy.schedule.end_behavior
        _transition(session, campaign, "finished", f"end date reached ({behaviour})", now)
        session.commit()

    def _refresh_members(
        self,
        session: Session,
        campaign: Campaign,
        policy: CampaignPolicy,
        action: PayloadAction,
        now: datetime,
    ) -> int:
        checked = campaign.members_checked_at
        interval = timedelta(seconds=self._settings.campaign_membership_interval_s)
        if checked is not None and now < as_utc(checked) + interval:
            return 0
        role = campaign.target.get("role") or action.default_role
        joined = add_members(session, campaign=campaign, plan=policy.waves, role=role, now=now)
        campaign.members_checked_at = now
        return joined

    def _failed_commands(
        self, session: Session, campaign: Campaign, policy: CampaignPolicy, now: datetime
    ) -> None:
        """Running attempts whose command itself failed (rejected, expired before delivery, ...)."""
        stmt = (
            select(CampaignDevice, CommandRecord.status, CommandRecord.error)
            .join(CommandRecord, CommandRecord.id == CampaignDevice.job_id)
            .where(
                CampaignDevice.campaign_id == campaign.id,
                CampaignDevice.state == "running",
                CommandRecord.status.in_(_FAILED_COMMANDS),
            )
        )
        for dev, status, error in session.execute(stmt).all():
            record_failure(
                session,
                campaign=campaign,
                dev=dev,
                failure_type=f"command_{status}",
                error=error,
                retryable=True,
                retries=policy.retries,
                now=now,
            )

    def _due_retries(self, session: Session, campaign: Campaign, now: datetime) -> None:
        session.execute(
            update(CampaignDevice)
            .where(
                CampaignDevice.campaign_id == campaign.id,
                CampaignDevice.state == "retry_wait",
                CampaignDevice.not_before <= now,
            )
            .values(state="pending", status="retry_due")
        )

    def _tallies(self, session: Session, campaign: Campaign) -> tuple[Tally, Tally, int]:
        stmt = (
            select(CampaignDevice.wave, CampaignDevice.state, func.count())
            .where(CampaignDevice.campaign_id == campaign.id)
            .group_by(CampaignDevice.wave, CampaignDevice.state)
        )
        wave: dict[str, int] = {}
        admitted: dict[str, int] = {}
        last = 0
        for number, state, count in session.execute(stmt).all():
            last = max(last, number)
            if number <= campaign.current_wave:
                admitted[state] = admitted.get(state, 0) + count
                if number == campaign.current_wave:
                    wave[state] = wave.get(state, 0) + count
        finished_base, failed_base = baseline_of(campaign.thresholds)
        return _tally(wave), _tally(admitted, finished_base, failed_base), last

    def _decide(self, session: Session, campaign: Campaign, policy: CampaignPolicy, now: datetime) -> str:
        wave, admitted, last = self._tallies(session, campaign)
        decision = evaluate(
            policy.thresholds, wave=wave, admitted=admitted, last_wave=campaign.current_wave >= last
        )
        if decision == "next_wave":
            campaign.current_wave += 1
            history(session, campaign.id, now, "wave", wave=campaign.current_wave)
            log.info("campaign %s: wave %d starts", campaign.name, campaign.current_wave)
        elif decision == "pause" and admitted.failed and _tripped(policy, admitted):
            _transition(session, campaign, "paused", _error_reason(admitted, policy), now)
        elif decision == "pause":
            _transition(
                session,
                campaign,
                "paused",
                WAVE_DONE.format(wave=campaign.current_wave) + "; resume for the next wave",
                now,
            )
        elif decision == "abort":
            session.execute(
                update(CampaignDevice)
                .where(
                    CampaignDevice.campaign_id == campaign.id,
                    CampaignDevice.state.in_(("pending", "retry_wait")),
                )
                .values(state="cancelled", status="cancelled", finished_at=now, updated_at=now)
            )
            _transition(session, campaign, "aborted", _error_reason(admitted, policy), now)
        elif decision == "done" and not policy.schedule.continuous:
            _transition(session, campaign, "finished", "every device finished", now)
        return decision

    def _start_due(
        self,
        session: Session,
        campaign: Campaign,
        policy: CampaignPolicy,
        action: PayloadAction,
        send: CommandSender,
        now: datetime,
    ) -> int:
        running = session.scalar(
            select(func.count()).where(
                CampaignDevice.campaign_id == campaign.id, CampaignDevice.state == "running"
            )
        )
        room = min(campaign.max_active - int(running or 0), self._settings.campaign_starts_per_step)
        if room <= 0:
            return 0
        stmt = (
            select(CampaignDevice)
            .join(Device, Device.id == CampaignDevice.device_id)
            .where(
                CampaignDevice.campaign_id == campaign.id,
                CampaignDevice.state == "pending",
                CampaignDevice.wave <= campaign.current_wave,
                (CampaignDevice.not_before.is_(None)) | (CampaignDevice.not_before <= now),
                Device.online.is_(True),
                Device.status == "enrolled",
            )
            .order_by(CampaignDevice.wave, CampaignDevice.order_key)
            .limit(room * 4)
        )
        started = 0
        for dev in session.scalars(stmt).all():
            if started >= room:
                break
            opens = outside_window(dev, policy.schedule, now)
            if opens is not None:
                dev.not_before = opens  # persisted: not looked at again before its window opens
                continue
            if not start_device(
                session,
                campaign=campaign,
                dev=dev,
                action=action,
                schedule=policy.schedule,
                send=send,
                retries=policy.retries,
                now=now,
                retry_after_s=self._settings.campaign_broker_retry_s,
            ):
                break
            started += 1
        return started

    def _set_origin_cap(self, session: Session) -> None:
        """The origin limiter gets the sum of running campaigns' caps (uncapped campaigns → the setting)."""
        if self._limiter is None:
            return
        caps = list(session.scalars(select(Campaign.rate_cap_bps).where(Campaign.state == "running")))
        if not caps and self._limiter_bps is None:
            return  # never touched: leave the content setting (or a staff change) alone
        default = int(getattr(self._settings, "content_origin_rate_kbit", 0) or 0) * 1000
        total = default if (not caps or any(c is None for c in caps)) else int(sum(c for c in caps if c))
        if default and total:
            total = min(total, default)
        if total != self._limiter_bps:
            self._limiter.set_rate_bps(total)
            self._limiter_bps = total
            log.info("origin cap set to %d bit/s for %d running campaigns", total, len(caps))


def _tally(counts: dict[str, int], finished_base: int = 0, failed_base: int = 0) -> Tally:
    failed = max(0, counts.get("failed", 0) - failed_base)
    succeeded = max(0, counts.get("succeeded", 0) - max(0, finished_base - failed_base))
    return Tally(
        succeeded=succeeded,
        failed=failed,
        active=counts.get("running", 0) + counts.get("retry_wait", 0),
        pending=counts.get("pending", 0),
    )


def _tripped(policy: CampaignPolicy, admitted: Tally) -> bool:
    from .policy import error_tripped

    return error_tripped(policy.thresholds, admitted)


def _error_reason(admitted: Tally, policy: CampaignPolicy) -> str:
    pct = admitted.failed * 100.0 / max(1, admitted.finished)
    return (
        f"error threshold: {admitted.failed} of {admitted.finished} finished devices failed "
        f"({pct:.1f} % > {policy.thresholds.error_pct:g} %); check failures, then resume or cancel"
    )
