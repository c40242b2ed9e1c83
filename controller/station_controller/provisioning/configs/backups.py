"""Router config backups: record (with history pruning), list, diff between two backups."""

from __future__ import annotations

import difflib
import hashlib

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ...kernel.clock import utcnow
from .errors import ConfigNotFound
from .models import ConfigBackup

REASONS = ("import", "backup", "pre-push", "post-push", "rollback", "drift")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def unified(before: str, after: str, *, before_label: str, after_label: str) -> str:
    """A unified diff (difflib), empty when the texts are equal."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), before_label, after_label
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def add_backup(
    session: Session,
    *,
    device_id: str,
    content: str,
    reason: str,
    good: bool,
    revision_seq: int | None,
    job_id: int | None,
    keep: int,
) -> ConfigBackup:
    """Add a backup to the session (caller commits) and prune the oldest beyond ``keep`` (not imports)."""
    backup = ConfigBackup(
        device_id=device_id,
        taken_at=utcnow(),
        reason=reason,
        content=content,
        sha256=sha256(content),
        good=good,
        revision_seq=revision_seq,
        job_id=job_id,
    )
    session.add(backup)
    session.flush()
    old_ids = session.scalars(
        select(ConfigBackup.id)
        .where(ConfigBackup.device_id == device_id, ConfigBackup.reason != "import")
        .order_by(ConfigBackup.id.desc())
        .offset(max(keep, 1))
    ).all()
    if old_ids:
        session.execute(delete(ConfigBackup).where(ConfigBackup.id.in_(old_ids)))
    return backup


def list_backups(session: Session, *, device_id: str, limit: int = 50) -> list[ConfigBackup]:
    stmt = (
        select(ConfigBackup)
        .where(ConfigBackup.device_id == device_id)
        .order_by(ConfigBackup.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def latest_backup(session: Session, *, device_id: str) -> ConfigBackup | None:
    return next(iter(list_backups(session, device_id=device_id, limit=1)), None)


def get_backup(session: Session, *, backup_id: int) -> ConfigBackup:
    backup = session.get(ConfigBackup, backup_id)
    if backup is None:
        raise ConfigNotFound(f"no backup #{backup_id}; list a router's backups with GET .../backups")
    return backup


def last_good_backup(session: Session, *, device_id: str, differing_from: str | None = None) -> ConfigBackup:
    """The newest backup marked good (optionally: whose content differs from ``differing_from``).

    Raises:
        ConfigNotFound: there is none (import the router or take a backup first).
    """
    stmt = select(ConfigBackup).where(ConfigBackup.device_id == device_id, ConfigBackup.good.is_(True))
    if differing_from is not None:
        stmt = stmt.where(ConfigBackup.sha256 != sha256(differing_from))
    backup = session.scalars(stmt.order_by(ConfigBackup.id.desc()).limit(1)).first()
    if backup is None:
        raise ConfigNotFound(f"{device_id} has no good backup to roll back to; run config.import first")
    return backup


def backup_diff(session: Session, *, backup_id: int, against_id: int | None = None) -> str:
    """Diff of a backup against ``against_id`` (default: the same router's previous backup)."""
    backup = get_backup(session, backup_id=backup_id)
    if against_id is None:
        previous = session.scalars(
            select(ConfigBackup)
            .where(ConfigBackup.device_id == backup.device_id, ConfigBackup.id < backup.id)
            .order_by(ConfigBackup.id.desc())
            .limit(1)
        ).first()
    else:
        previous = get_backup(session, backup_id=against_id)
    before = previous.content if previous else ""
    label = f"backup #{previous.id} ({previous.reason})" if previous else "(nothing)"
    return unified(
        before, backup.content, before_label=label, after_label=f"backup #{backup.id} ({backup.reason})"
    )
