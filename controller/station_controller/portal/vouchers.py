"""Voucher batches: create, list, usage, revoke, redeem (single-use or N devices), QR codes for print."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import segno
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import InvalidInput, NotFound
from ..kernel.clock import as_utc, utcnow
from .errors import VoucherRejected
from .models import PortalSession, Voucher, VoucherBatch
from .service import Grant
from .tokens import new_voucher_code, normalise_voucher

log = logging.getLogger(__name__)
MAX_BATCH = 1000


@dataclass(frozen=True)
class BatchSpec:
    count: int
    max_devices: int
    duration_s: int
    up_kbps: int | None
    down_kbps: int | None
    quota_bytes: int
    note: str


def create_batch(session: Session, *, spec: BatchSpec, created_by: str) -> VoucherBatch:
    if not 1 <= spec.count <= MAX_BATCH:
        raise InvalidInput(f"count must be 1..{MAX_BATCH}; create several batches for more")
    if spec.max_devices < 1 or spec.duration_s < 60 or spec.quota_bytes < 0:
        raise InvalidInput("max_devices must be >= 1, duration_s >= 60 and quota_bytes >= 0")
    batch = VoucherBatch(
        note=spec.note,
        count=spec.count,
        max_devices=spec.max_devices,
        duration_s=spec.duration_s,
        up_kbps=spec.up_kbps,
        down_kbps=spec.down_kbps,
        quota_bytes=spec.quota_bytes,
        created_by=created_by,
        created_at=utcnow(),
    )
    session.add(batch)
    session.flush()
    codes: set[str] = set()
    while len(codes) < spec.count:
        codes.add(new_voucher_code())
    session.add_all(Voucher(batch_id=batch.id, code=code, devices=[]) for code in sorted(codes))
    session.commit()
    log.info("voucher batch %d: %d vouchers created by %s", batch.id, spec.count, created_by)
    return batch


def list_batches(session: Session) -> list[VoucherBatch]:
    return list(session.scalars(select(VoucherBatch).order_by(VoucherBatch.created_at.desc())))


def get_batch(session: Session, *, batch_id: int) -> VoucherBatch:
    batch = session.get(VoucherBatch, batch_id)
    if batch is None:
        raise NotFound(f"voucher batch {batch_id} does not exist")
    return batch


def batch_vouchers(session: Session, *, batch_id: int, unused_only: bool = False) -> list[Voucher]:
    stmt = select(Voucher).where(Voucher.batch_id == batch_id)
    if unused_only:
        stmt = stmt.where(Voucher.first_used_at.is_(None), Voucher.revoked_at.is_(None))
    return list(session.scalars(stmt.order_by(Voucher.id)))


def voucher_bytes(session: Session, *, voucher_ids: list[int]) -> dict[int, int]:
    """Bytes used per voucher over all its sessions."""
    if not voucher_ids:
        return {}
    total = func.sum(PortalSession.bytes_up + PortalSession.bytes_down)
    stmt = (
        select(PortalSession.voucher_id, total)
        .where(PortalSession.voucher_id.in_(voucher_ids))
        .group_by(PortalSession.voucher_id)
    )
    return {int(vid): int(used or 0) for vid, used in session.execute(stmt) if vid is not None}


def masked(code: str) -> str:
    """What a viewer sees of a voucher code: its last 3 characters (enough to tell two apart)."""
    return "*" * max(0, len(code) - 3) + code[-3:]


def revoke_batch(session: Session, *, batch_id: int) -> VoucherBatch:
    batch = get_batch(session, batch_id=batch_id)
    now = utcnow()
    batch.revoked_at = batch.revoked_at or now
    for voucher in batch_vouchers(session, batch_id=batch_id):
        voucher.revoked_at = voucher.revoked_at or now
    session.commit()
    log.info("voucher batch %d revoked", batch_id)
    return batch


def revoke_voucher(session: Session, *, code: str) -> Voucher:
    voucher = session.scalar(select(Voucher).where(Voucher.code == normalise_voucher(code)))
    if voucher is None:
        raise NotFound("no voucher with that code")
    voucher.revoked_at = voucher.revoked_at or utcnow()
    session.commit()
    return voucher


def _usable(voucher: Voucher | None, batch: VoucherBatch | None, mac: str, now: datetime) -> Voucher:
    if voucher is None or batch is None:
        raise VoucherRejected("this voucher code is not valid; check the code on the card")
    if voucher.revoked_at is not None or batch.revoked_at is not None:
        raise VoucherRejected("this voucher was revoked; ask the station staff for a new one")
    if voucher.expires_at is not None and as_utc(voucher.expires_at) <= now:
        raise VoucherRejected("this voucher has expired")
    devices = list(voucher.devices or [])
    if mac not in devices and len(devices) >= batch.max_devices:
        raise VoucherRejected(f"this voucher is already used on {len(devices)} device(s), its limit")
    return voucher


def redeem(session: Session, *, code: str, mac: str) -> Grant:
    """Check a voucher for ``mac``, start its clock on first use, add the device (no commit).

    Raises VoucherRejected: unknown, revoked, expired, device limit reached or quota used up.
    """
    now = utcnow()
    voucher = session.scalar(select(Voucher).where(Voucher.code == normalise_voucher(code)))
    batch = session.get(VoucherBatch, voucher.batch_id) if voucher else None
    voucher = _usable(voucher, batch, mac, now)
    assert batch is not None
    quota = None
    if batch.quota_bytes:
        left = batch.quota_bytes - voucher_bytes(session, voucher_ids=[voucher.id]).get(voucher.id, 0)
        if left <= 0:
            raise VoucherRejected("this voucher's data quota is used up")
        quota = left
    if voucher.first_used_at is None:
        voucher.first_used_at, voucher.expires_at = now, now + timedelta(seconds=batch.duration_s)
    if mac not in (voucher.devices or []):
        voucher.devices = [*(voucher.devices or []), mac]
    return Grant(
        method="voucher",
        voucher=voucher,
        expires_at=as_utc(voucher.expires_at) if voucher.expires_at else None,
        quota_bytes=quota,
        up_kbps=batch.up_kbps,
        down_kbps=batch.down_kbps,
    )


def qr_svg(text: str) -> str:
    """An inline ``<svg>`` QR code of ``text`` (segno, pure Python)."""
    return str(segno.make(text, error="m").svg_inline(scale=3, border=2))
