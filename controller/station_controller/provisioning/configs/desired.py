"""Render many routers at once and keep each one's desired-config hash (what "pending" is measured by)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload

from ...kernel.clock import utcnow
from ...registry.models import Device
from ...settings import Settings
from ..models import ProvisioningTarget
from .errors import RenderFailed
from .models import ConfigDesired
from .render import Rendered, all_items, latest_seq, render_items

Outcome = Rendered | RenderFailed


def legacy_routers(session: Session, *, device_ids: Iterable[str] | None = None) -> list[tuple[Device, str]]:
    """Devices with an SSH target that names a device profile (what config jobs reach), by id."""
    stmt = (
        select(Device, ProvisioningTarget.profile)
        .join(ProvisioningTarget, ProvisioningTarget.device_id == Device.id)
        .where(ProvisioningTarget.profile.is_not(None))
        .options(joinedload(Device.station))
        .order_by(Device.id)
    )
    if device_ids is not None:
        stmt = stmt.where(Device.id.in_(list(device_ids)))
    return [(device, str(profile)) for device, profile in session.execute(stmt).unique().all()]


def render_all(
    session: Session,
    *,
    settings: Settings,
    routers: Sequence[tuple[Device, str]],
    seq: int,
    draft_id: int | None = None,
) -> dict[str, Outcome]:
    """Each router's rendering (or why it fails) at ``seq``, with one query for all items."""
    items = all_items(session, seq=seq, draft_id=draft_id)
    out: dict[str, Outcome] = {}
    for device, profile in routers:
        try:
            out[device.id] = render_items(
                items, device=device, settings=settings, profile=profile, seq=seq, draft_id=draft_id
            )
        except RenderFailed as exc:
            out[device.id] = exc
    return out


def store(session: Session, *, seq: int, outcomes: dict[str, Outcome]) -> None:
    """Replace the stored desired hashes of these routers (the caller commits)."""
    if not outcomes:
        return
    session.execute(delete(ConfigDesired).where(ConfigDesired.device_id.in_(list(outcomes))))
    now = utcnow()
    session.add_all(
        ConfigDesired(
            device_id=device_id,
            seq=seq,
            rendered_at=now,
            sha256=None if isinstance(result, RenderFailed) else result.sha256,
            error=result.detail[:1000] if isinstance(result, RenderFailed) else "",
        )
        for device_id, result in outcomes.items()
    )


def refresh(session: Session, *, settings: Settings, device_ids: Iterable[str] | None = None) -> int:
    """Re-render routers (default: all) at the newest revision and store their hashes; commits."""
    seq = latest_seq(session)
    outcomes = render_all(
        session, settings=settings, routers=legacy_routers(session, device_ids=device_ids), seq=seq
    )
    store(session, seq=seq, outcomes=outcomes)
    session.commit()
    return len(outcomes)
