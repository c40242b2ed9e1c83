"""The campaigns device event handler: progress, done, failed of each payload kind, batched by ingest.

``SqlCampaignEvents`` is registered with the ingest hub by the composition root (plugins.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..ingest.events import DeviceEvent
from ..kernel.clock import utcnow
from .models import Campaign, CampaignDevice
from .payloads import Outcome, PayloadAction
from .service import history
from .spec import CampaignPolicy
from .starts import record_failure

log = logging.getLogger(__name__)


def event_names(payloads: Mapping[str, PayloadAction]) -> frozenset[str]:
    """Every event name some payload kind interprets (what ingest hands to campaigns)."""
    return frozenset().union(*(action.event_names for action in payloads.values()))


def _outcomes(
    session: Session, payloads: Mapping[str, PayloadAction], events: Sequence[DeviceEvent]
) -> list[tuple[str, Outcome]]:
    found: list[tuple[str, Outcome]] = []
    for event in events:
        for action in payloads.values():
            if event.name in action.event_names:
                outcome = action.interpret(
                    session, device_id=event.device_id, name=event.name, detail=event.detail
                )
                if outcome is not None:
                    found.append((event.device_id, outcome))
    return found


def apply_device_events(
    session: Session,
    *,
    payloads: Mapping[str, PayloadAction],
    events: Sequence[DeviceEvent],
    now: datetime | None = None,
) -> int:
    """Update the campaign devices whose current job the events are about (one query, one commit).

    An event for an older attempt (a job id no longer current) is ignored: it cannot undo a retry.
    Returns how many campaign devices changed.
    """
    moment = now or utcnow()
    outcomes = _outcomes(session, payloads, events)
    jobs = sorted({outcome.job_id for _, outcome in outcomes})
    if not jobs:
        session.commit()  # payload-side state recorded by interpret()
        return 0
    rows = session.scalars(select(CampaignDevice).where(CampaignDevice.job_id.in_(jobs))).all()
    by_job = {(row.device_id, row.job_id): row for row in rows}
    campaigns: dict[int, tuple[Campaign, CampaignPolicy]] = {}
    changed = 0
    for device_id, outcome in outcomes:
        dev = by_job.get((device_id, outcome.job_id))
        if dev is None:
            continue
        if dev.campaign_id not in campaigns:
            campaign = session.get(Campaign, dev.campaign_id)
            assert campaign is not None
            campaigns[dev.campaign_id] = (campaign, CampaignPolicy.of(campaign))
        campaign, policy = campaigns[dev.campaign_id]
        changed += _apply(session, campaign, policy, dev, outcome, moment)
    session.commit()
    return changed


def _apply(
    session: Session,
    campaign: Campaign,
    policy: CampaignPolicy,
    dev: CampaignDevice,
    outcome: Outcome,
    now: datetime,
) -> int:
    if outcome.kind == "progress":
        if dev.state != "running":
            return 0
        dev.status = outcome.status
        dev.bytes_done = outcome.bytes_done if outcome.bytes_done is not None else dev.bytes_done
        dev.bytes_total = outcome.bytes_total if outcome.bytes_total is not None else dev.bytes_total
        dev.rate_bps, dev.eta_s, dev.updated_at = outcome.rate_bps, outcome.eta_s, now
        return 1
    if outcome.kind == "succeeded":
        if dev.state not in ("running", "cancelled"):
            return 0
        dev.state, dev.status, dev.finished_at, dev.updated_at = "succeeded", "done", now, now
        dev.rate_bps = dev.eta_s = None
        if dev.bytes_total is not None:
            dev.bytes_done = dev.bytes_total
        history(
            session,
            campaign.id,
            now,
            "succeeded",
            dev.device_id,
            job_id=dev.job_id,
            bytes_wire=outcome.bytes_done,
        )
        return 1
    if dev.state != "running" or outcome.failure_type in ("cancelled", "superseded"):
        return 0  # our own cancel (already recorded) or a newer job took over
    failure = outcome.failure_type or "other"
    record_failure(
        session,
        campaign=campaign,
        dev=dev,
        failure_type=failure,
        error=outcome.error,
        retryable=outcome.retryable,
        retries=policy.retries,
        now=now,
    )
    return 1


class SqlCampaignEvents:
    """The campaigns DeviceEventHandler: ``apply_device_events`` in one session (one commit) per batch."""

    def __init__(self, session_factory: sessionmaker[Session], payloads: Mapping[str, PayloadAction]) -> None:
        self._factory = session_factory
        self._payloads = payloads
        self.names = event_names(payloads)

    def record(self, events: Sequence[DeviceEvent]) -> None:
        with self._factory() as session:
            apply_device_events(session, payloads=self._payloads, events=events)
