"""Command outbox: a command row is queued in its use case's transaction and published after the commit.

How a use case sends a command::

    queued = service.queue_command(session, ...)   # adds the row (status "queued"); no commit
    ...                                            # the rest of the use case, same transaction
    session.commit()                               # the use case's one commit
    outbox.publish_committed(session, publisher, settings, queued)   # publish; the row becomes "sent"

Publishing is an explicit post-commit step rather than an SQLAlchemy ``after_commit`` hook: the caller
shows where it happens and decides what a failed publish means for its use case (the command API
answers 503 and records the command failed; the portal answers "router unreachable"). A hook can
emit no SQL on its session and could hand its failure back only as an exception out of ``commit()``.

A crash between the commit and the publish leaves the row ``queued``. ``OutboxSweeper`` (run by the
ingest housekeeping, a supervised thread) publishes rows still queued ``command_outbox_grace_s`` after
they were created. A row the crash did not in fact lose reaches the agent twice; the agent keeps the
ids it applied and answers the repeat ``already_applied``, and ``service.record_results`` keeps only
the first answer, so the result is recorded once.
"""

from __future__ import annotations

import logging
import os
import signal
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from station_protocol import Channel, Command, PayloadTooLarge, encode, make, topic

from ..errors import DeviceUnreachable, InvalidInput
from ..kernel.clock import as_utc, utcnow
from ..settings import Settings
from .models import CommandRecord
from .publisher import CommandPublisher

log = logging.getLogger(__name__)
SWEEP_BATCH = 500


@dataclass(frozen=True)
class QueuedCommand:
    """A command row added in the caller's transaction and the message to publish once it commits."""

    record: CommandRecord
    payload: bytes

    @property
    def id(self) -> str:
        return self.record.id


def command_payload(record: CommandRecord) -> bytes:
    """The ``cmd`` message of ``record`` (its id is the envelope id, so a resend is the same command).

    Raises InvalidInput: too large for the broker (checked before the use case commits).
    """
    body = Command(
        name=record.name,
        expires_at=int(as_utc(record.expires_at).timestamp() * 1000),
        timeout_s=record.timeout_s,
        args=record.args,
    )
    try:
        return encode(make(record.device_id, body, msg_id=record.id))
    except PayloadTooLarge as exc:
        raise InvalidInput(f"command too large: {exc}; send smaller args") from None


def publish_message(publisher: CommandPublisher | None, device_id: str, **kwargs: Any) -> None:
    """``publisher.publish(**kwargs)``; any transport failure becomes DeviceUnreachable (retryable)."""
    if publisher is None:
        raise DeviceUnreachable("this controller process has no MQTT connection; run it with ingest enabled")
    try:
        publisher.publish(**kwargs)
    except Exception as exc:  # any transport failure means "not sent"; the caller records it
        log.warning("%s publish to %s failed: %s", device_id, kwargs.get("topic"), exc)
        raise DeviceUnreachable(
            f"could not publish to {device_id}: {exc}; check the broker and retry"
        ) from exc


def link_ready(publisher: CommandPublisher | None) -> bool:
    """Whether a publish would be accepted now (connected to the broker); checked before a commit by
    use cases that must answer "unreachable" synchronously without writing anything."""
    return publisher is not None and publisher.ready()


def _publish(
    publisher: CommandPublisher | None, record: CommandRecord, payload: bytes, expiry_s: float
) -> None:
    publish_message(
        publisher,
        record.device_id,
        topic=topic(record.device_id, Channel.CMD),
        payload=payload,
        qos=1,
        retain=False,
        expiry_s=expiry_s,
    )


def _fault_after_commit(settings: Settings, command_id: str) -> None:
    """Test hook (``STATION_FAULT_AFTER_COMMAND_COMMIT=kill``): die exactly between commit and publish."""
    if settings.fault_after_command_commit == "kill":
        log.warning("command %s committed; fault hook kills this process before publishing", command_id)
        os.kill(os.getpid(), signal.SIGKILL)


def _mark_sent(session: Session, command_ids: list[str], now: datetime) -> None:
    """queued → sent in one short transaction; a row already answered (fast device) keeps its result."""
    session.execute(
        update(CommandRecord)
        .where(CommandRecord.id.in_(command_ids), CommandRecord.status == "queued")
        .values(status="sent", published_at=now)
    )
    session.commit()


def publish_committed(
    session: Session, publisher: CommandPublisher | None, settings: Settings, queued: QueuedCommand
) -> None:
    """After the caller's commit: publish QoS 1 with message expiry, then mark the row ``sent``.

    Raises DeviceUnreachable: not published; the row stays ``queued`` and the caller decides (record
    it failed with ``mark_failed`` in its follow-up transaction, or leave it for the sweep).
    """
    _fault_after_commit(settings, queued.id)
    _publish(publisher, queued.record, queued.payload, settings.command_expiry_s)
    _mark_sent(session, [queued.id], utcnow())
    log.info("%s command %s %s sent", queued.record.device_id, queued.id, queued.record.name)


def mark_failed(session: Session, queued: QueuedCommand, error: str) -> None:
    """Record that the command was not published (no commit: part of the caller's follow-up)."""
    session.execute(
        update(CommandRecord)
        .where(CommandRecord.id == queued.id, CommandRecord.status == "queued")
        .values(status="failed", error=error[:2048], finished_at=utcnow())
    )


def sweep(
    session: Session, *, publisher: CommandPublisher | None, grace_s: float, now: datetime | None = None
) -> int:
    """Publish rows still ``queued`` ``grace_s`` after creation and not expired; returns how many.

    Stops at the first failed publish (the broker is down): the rows stay queued for the next sweep,
    and past ``expires_at`` ``service.expire_overdue`` ends them.
    """
    moment = now or utcnow()
    stmt = (
        select(CommandRecord)
        .where(
            CommandRecord.status == "queued",
            CommandRecord.created_at < moment - timedelta(seconds=grace_s),
            CommandRecord.expires_at > moment,
        )
        .order_by(CommandRecord.created_at, CommandRecord.id)
        .limit(SWEEP_BATCH)
    )
    sent: list[str] = []
    for record in session.scalars(stmt):
        remaining = (as_utc(record.expires_at) - moment).total_seconds()
        try:
            _publish(publisher, record, command_payload(record), remaining)
        except (DeviceUnreachable, InvalidInput) as exc:
            log.warning("%s queued command %s not resent: %s", record.device_id, record.id, exc.detail)
            break
        log.info("%s command %s %s resent by the outbox sweep", record.device_id, record.id, record.name)
        sent.append(record.id)
    if sent:
        _mark_sent(session, sent, moment)
    else:
        session.rollback()
    return len(sent)


class OutboxSweeper:
    """``sweep`` in its own session; one of the ingest housekeeping steps (ingest/runtime.py)."""

    def __init__(
        self, session_factory: sessionmaker[Session], publisher: CommandPublisher, settings: Settings
    ) -> None:
        self._factory = session_factory
        self._publisher = publisher
        self._grace_s = settings.command_outbox_grace_s

    def run_once(self) -> int:
        with self._factory() as session:
            resent = sweep(session, publisher=self._publisher, grace_s=self._grace_s)
        if resent:
            log.info("outbox sweep: %d committed but unpublished commands resent", resent)
        return resent
