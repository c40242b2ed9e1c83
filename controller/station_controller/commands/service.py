"""Command services: queue or send a command, record device results, push desired config.

``queue_command`` adds to the caller's transaction; the others are whole use cases and commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from station_protocol import (
    Channel,
    ConfigDesired,
    PayloadTooLarge,
    Result,
    encode,
    make,
    new_id,
    topic,
)

from ..errors import Conflict, DeviceUnreachable, InvalidInput, NotFound
from ..kernel.clock import utcnow
from ..registry.models import Device
from ..registry.service import get_device
from ..settings import Settings
from . import outbox
from .models import CommandRecord
from .publisher import CommandPublisher

log = logging.getLogger(__name__)

MAX_TIMEOUT_S = 600.0
PENDING = ("queued", "sent")  # no answer yet: committed (not yet published), or published


def _enrolled(session: Session, device_id: str) -> Device:
    device = get_device(session, device_id=device_id)
    if device.status != "enrolled":
        raise Conflict(f"{device_id} is {device.status}, not enrolled; it cannot receive commands")
    return device


def queue_command(
    session: Session,
    *,
    settings: Settings,
    device_id: str,
    name: str,
    args: dict[str, Any] | None = None,
    timeout_s: float | None = None,
    created_by: str | None = None,
    command_id: str | None = None,
) -> outbox.QueuedCommand:
    """Add a command row (status ``queued``) to the caller's transaction; no commit, nothing published.

    After committing, the caller hands the result to ``outbox.publish_committed``.

    Raises:
        NotFound / Conflict: unknown or not-enrolled device. InvalidInput: bad timeout or too large.
    """
    _enrolled(session, device_id)
    timeout = settings.command_timeout_s if timeout_s is None else timeout_s
    if not 0 < timeout <= MAX_TIMEOUT_S:
        raise InvalidInput(f"timeout_s must be in (0, {MAX_TIMEOUT_S:.0f}]")
    now = utcnow()
    record = CommandRecord(
        id=command_id or new_id(),
        device_id=device_id,
        name=name,
        args=args or {},
        status="queued",
        created_by=created_by,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.command_expiry_s),
        timeout_s=timeout,
    )
    payload = outbox.command_payload(record)  # before the row joins the session: too large adds nothing
    session.add(record)
    return outbox.QueuedCommand(record, payload)


def send_command(
    session: Session,
    *,
    settings: Settings,
    publisher: CommandPublisher | None,
    device_id: str,
    name: str,
    args: dict[str, Any] | None = None,
    timeout_s: float | None = None,
    created_by: str | None = None,
    command_id: str | None = None,
) -> CommandRecord:
    """A use case that is just this command (API, console, campaign sender): queue, commit, publish.

    Callers with more to write in the same use case call ``queue_command`` and commit themselves.

    Raises:
        NotFound / Conflict: unknown or not-enrolled device. InvalidInput: bad timeout or too large.
        DeviceUnreachable: not published (the record is kept with status ``failed``).
    """
    queued = queue_command(
        session,
        settings=settings,
        device_id=device_id,
        name=name,
        args=args,
        timeout_s=timeout_s,
        created_by=created_by,
        command_id=command_id,
    )
    session.commit()  # the use case's one commit; the device's answer then always finds its row
    try:
        outbox.publish_committed(session, publisher, settings, queued)
    except DeviceUnreachable as exc:
        outbox.mark_failed(session, queued, exc.detail)
        session.commit()  # follow-up: the answer to this request is "not sent", so the row says so
        raise
    return queued.record


def record_results(session: Session, results: Sequence[tuple[str, Result]]) -> list[str]:
    """Store device answers; returns the command ids updated (pass them to ``ResultWaiters.notify``).

    A result from a device other than the command's target is ignored (spoofing), as is a second
    answer to a finished command (the first answer wins) and an answer to an unknown id.
    """
    ids = sorted({result.command_id for _, result in results})
    if not ids:
        return []
    records = {r.id: r for r in session.scalars(select(CommandRecord).where(CommandRecord.id.in_(ids)))}
    updated: list[str] = []
    now = utcnow()
    for device_id, result in results:
        record = records.get(result.command_id)
        if record is None:
            log.info("%s answered unknown command %s", device_id, result.command_id)
        elif record.device_id != device_id:
            log.warning(
                "%s sent a result for %s's command %s; ignored", device_id, record.device_id, record.id
            )
        elif record.status in PENDING:  # queued too: the answer can beat the mark "sent"
            record.status, record.output, record.error = result.status, result.output, result.error
            record.finished_at = now
            updated.append(record.id)
    session.commit()
    return updated


def expire_overdue(session: Session, *, now: datetime | None = None) -> int:
    """Mark commands still ``queued`` or ``sent`` after their expiry as ``expired``; returns how many.

    Past ``expires_at`` the broker has discarded an undelivered command and an agent refuses a late
    one, so no answer can come; without this sweep such commands would stay "sent" forever.
    """
    moment = now or utcnow()
    result = session.execute(
        update(CommandRecord)
        .where(CommandRecord.status.in_(PENDING), CommandRecord.expires_at < moment)
        .values(status="expired", finished_at=moment, error="no answer before the command expired")
    )
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def get_command(session: Session, *, command_id: str) -> CommandRecord:
    record = session.get(CommandRecord, command_id, populate_existing=True)
    if record is None:
        raise NotFound(f"command {command_id!r} does not exist")
    return record


def command_history(
    session: Session, *, device_id: str, limit: int, offset: int
) -> tuple[list[CommandRecord], int]:
    """A device's commands, newest first, and their total."""
    get_device(session, device_id=device_id)
    cond = CommandRecord.device_id == device_id
    total = session.scalar(select(func.count()).select_from(CommandRecord).where(cond)) or 0
    stmt = select(CommandRecord).where(cond).order_by(CommandRecord.created_at.desc(), CommandRecord.id)
    return list(session.scalars(stmt.offset(offset).limit(limit))), int(total)


def set_desired_config(
    session: Session, *, publisher: CommandPublisher | None, device_id: str, config: dict[str, Any]
) -> Device:
    """Bump the desired version, store it and publish it retained on ``config/desired``.

    Raises:
        DeviceUnreachable: stored but not published; PUT again to re-publish.
    """
    device = get_device(session, device_id=device_id)
    body = ConfigDesired(version=device.desired_config_version + 1, config=config)
    try:
        payload = encode(make(device_id, body))
    except PayloadTooLarge as exc:
        raise InvalidInput(f"config too large: {exc}") from None
    device.desired_config_version, device.desired_config = body.version, config
    session.commit()
    outbox.publish_message(
        publisher,
        device_id,
        topic=topic(device_id, Channel.CONFIG_DESIRED),
        payload=payload,
        qos=1,
        retain=True,
        expiry_s=None,
    )
    log.info("%s desired config v%d published", device_id, body.version)
    return device
