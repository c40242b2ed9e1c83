"""Config operations on one router: backup, import, push (verify, roll back), drift check, rollback."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.orm import Session, sessionmaker

from ...kernel.clock import utcnow
from ...registry.service import get_device
from ...settings import Settings
from ..legacy import operations as ops
from ..legacy.errors import RouterCommandRejected, RouterUnreachable
from ..legacy.profiles import Profile, get_profile
from ..legacy.ssh import RouterConnection, RouterConnector, SshParams
from ..secrets import REDACTING_FILTER
from . import backups
from .models import ConfigBackup
from .render import Rendered, render_device
from .state import get_state, update_state

log = logging.getLogger(__name__)
log.addFilter(REDACTING_FILTER)


@dataclass(frozen=True)
class OpResult:
    status: Literal["ok", "changed", "failed"]  # an unreachable router raises RouterUnreachable instead
    reason: str = ""
    diff: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RouterOp:
    """Everything one operation on one router needs."""

    ssh: SshParams
    session_factory: sessionmaker[Session]
    settings: Settings
    connector: RouterConnector
    log: Callable[[str], None]
    dry_run: bool = False
    job_id: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def device_id(self) -> str:
        return self.ssh.device_id

    @property
    def profile(self) -> Profile:
        return get_profile(self.ssh.device_type)


@contextmanager
def _session(op: RouterOp) -> Iterator[RouterConnection]:
    conn = op.connector.connect(op.ssh)
    try:
        yield conn
    finally:
        conn.close()


def _save_backup(op: RouterOp, session: Session, content: str, reason: str, *, good: bool) -> ConfigBackup:
    state = get_state(session, device_id=op.device_id)
    return backups.add_backup(
        session,
        device_id=op.device_id,
        content=content,
        reason=reason,
        good=good,
        revision_seq=state.applied_seq if state else None,
        job_id=op.job_id,
        keep=op.settings.config_backups_keep,
    )


def backup(op: RouterOp) -> OpResult:
    """Read the running config; store it when it differs from the newest backup."""
    with _session(op) as conn:
        running = ops.read_running(conn, op.profile)
    with op.session_factory() as session:
        last = backups.latest_backup(session, device_id=op.device_id)
        if last is not None and last.sha256 == backups.sha256(running):
            if get_state(session, device_id=op.device_id) is not None:
                update_state(session, device_id=op.device_id, checked_at=utcnow())
                session.commit()
            op.log(f"running config unchanged since backup #{last.id}")
            return OpResult("ok", data={"backup_id": last.id, "new": False})
        if op.dry_run:
            return OpResult("ok", data={"new": True})
        row = _save_backup(op, session, running, "backup", good=False)
        session.commit()
        op.log(f"backup #{row.id} stored ({len(running)} bytes)")
        return OpResult("ok", data={"backup_id": row.id, "new": True})


def import_router(op: RouterOp) -> OpResult:
    """Take over a router already in the field: its running config becomes its baseline."""
    with _session(op) as conn:
        running = ops.read_running(conn, op.profile)
        facts = ops.read_facts(conn, op.profile)
    op.log(f"read {len(running.splitlines())} config lines; facts: {sorted(facts)}")
    if op.dry_run:
        return OpResult("ok", diff=running, data={"facts": facts})
    with op.session_factory() as session:
        get_device(session, device_id=op.device_id)
        row = _save_backup(op, session, running, "import", good=True)
        update_state(
            session,
            device_id=op.device_id,
            status="baseline",
            detail="imported from the field",
            applied_seq=None,
            applied_hash=None,
            reference_backup_id=row.id,
            last_backup_id=row.id,
            checked_at=utcnow(),
            facts=facts,
        )
        session.commit()
    op.log(f"baseline recorded as backup #{row.id}")
    return OpResult("ok", data={"backup_id": row.id, "facts": facts})


def push(op: RouterOp) -> OpResult:
    """Render, diff, apply, save, verify; on a refused line or failed verification restore the backup."""
    seq, draft_id = op.params.get("revision"), op.params.get("draft_id")
    if draft_id is not None and not op.dry_run:
        return OpResult("failed", reason=f"draft #{draft_id} can only be dry-run; publish it, then push")
    with op.session_factory() as session:
        device = get_device(session, device_id=op.device_id)
        rendered = render_device(
            session,
            device=device,
            settings=op.settings,
            profile=op.ssh.device_type,
            seq=int(seq) if seq is not None else None,
            draft_id=int(draft_id) if draft_id is not None else None,
        )
    profile = op.profile
    with _session(op) as conn:
        running = ops.read_running(conn, profile)
        expected = profile.expected(running, rendered.intent)
        diff = backups.unified(running, expected, before_label="running", after_label=_label(rendered))
        if not diff:
            op.log(f"already at {_label(rendered)}: nothing to change")
            if not op.dry_run:
                _already_applied(op, rendered.seq, rendered.sha256, running)
            return OpResult("ok", data={"revision": rendered.seq})
        if op.dry_run:
            op.log(f"dry run: {diff.count(chr(10))} diff lines, nothing sent")
            return OpResult("changed", diff=diff, data={"revision": rendered.seq, "dry_run": True})
        with op.session_factory() as session:
            pre = _save_backup(op, session, running, "pre-push", good=True)
            session.commit()
        op.log(f"backup #{pre.id} taken; sending {len(profile.apply_lines(rendered.intent))} lines")
        try:
            ops.send_lines(conn, profile, profile.apply_lines(rendered.intent))
            after, problems = ops.verify(conn, profile, rendered.intent)
        except RouterCommandRejected as exc:
            problems, after = [str(exc)], ""
        except RouterUnreachable as exc:
            _mark_failed(
                op, f"connection lost during the push ({exc}); run config.drift, then push or roll back"
            )
            raise
        if problems:
            return _roll_back(op, conn, pre, problems, diff)
    op.log(f"verified: revision {rendered.seq} is running")
    post_id = _mark_applied(op, rendered.seq, rendered.sha256, after)
    return OpResult(
        "changed", diff=diff, data={"revision": rendered.seq, "backup_id": pre.id, "post_backup_id": post_id}
    )


def _label(rendered: Rendered) -> str:
    return f"draft #{rendered.draft_id}" if rendered.draft_id else f"revision {rendered.seq}"


def _mark_applied(op: RouterOp, seq: int, digest: str, running: str) -> int:
    """Record a verified push: the running config becomes the reference drift is measured against."""
    with op.session_factory() as session:
        row = _save_backup(op, session, running, "post-push", good=True)
        row.revision_seq = seq
        update_state(
            session,
            device_id=op.device_id,
            status="applied",
            detail=f"revision {seq} verified",
            applied_seq=seq,
            applied_hash=digest,
            reference_backup_id=row.id,
            last_backup_id=row.id,
            checked_at=utcnow(),
        )
        session.commit()
        return row.id


def _already_applied(op: RouterOp, seq: int, digest: str, running: str) -> None:
    """The managed lines are already as wanted; a drift outside them stays visible (never accepted here)."""
    with op.session_factory() as session:
        state = get_state(session, device_id=op.device_id)
        reference = state.reference_backup_id if state else None
        known = backups.get_backup(session, backup_id=reference).sha256 if reference is not None else None
        same = known == backups.sha256(running)
        if state is not None and state.status == "drifted" and not same:
            update_state(
                session, device_id=op.device_id, applied_seq=seq, applied_hash=digest, checked_at=utcnow()
            )
            session.commit()
            op.log(
                "managed lines are as wanted; the router still differs elsewhere (drifted): import to accept"
            )
            return
    if not same:
        _mark_applied(op, seq, digest, running)
        return
    with op.session_factory() as session:
        update_state(
            session,
            device_id=op.device_id,
            status="applied",
            detail=f"revision {seq} verified",
            applied_seq=seq,
            applied_hash=digest,
            checked_at=utcnow(),
        )
        session.commit()


def _mark_failed(op: RouterOp, detail: str) -> None:
    with op.session_factory() as session:
        update_state(
            session, device_id=op.device_id, status="failed", detail=detail[:1000], checked_at=utcnow()
        )
        session.commit()


def _roll_back(
    op: RouterOp, conn: RouterConnection, pre: ConfigBackup, problems: list[str], diff: str
) -> OpResult:
    op.log("verification failed: " + "; ".join(problems[:5]))
    restored = ops.restore(conn, op.profile, pre.content, log_line=op.log)
    ok = restored == pre.content
    with op.session_factory() as session:
        row = _save_backup(op, session, restored, "rollback", good=ok)
        session.commit()
    what = (
        f"rolled back to backup #{pre.id}"
        if ok
        else f"ROLLBACK INCOMPLETE (backup #{row.id} shows the state)"
    )
    _mark_failed(op, f"push failed ({'; '.join(problems[:3])}); {what}")
    op.log(what)
    return OpResult(
        "failed",
        reason=f"verification failed: {'; '.join(problems[:3])}; {what}",
        diff=diff,
        data={"backup_id": pre.id, "rollback_backup_id": row.id, "restored": ok},
    )


def drift(op: RouterOp) -> OpResult:
    """Compare the running config with the one recorded right after the last apply/import."""
    with op.session_factory() as session:
        state = get_state(session, device_id=op.device_id)
        reference = (
            backups.get_backup(session, backup_id=state.reference_backup_id)
            if state and state.reference_backup_id
            else None
        )
    if state is None or reference is None:
        return OpResult("failed", reason="no baseline to compare with: run config.import (or push) first")
    with _session(op) as conn:
        running = ops.read_running(conn, op.profile)
    diff = backups.unified(
        reference.content, running, before_label=f"backup #{reference.id} (applied)", after_label="running"
    )
    with op.session_factory() as session:
        if not diff:
            status = "applied" if state.applied_seq is not None else "baseline"
            update_state(
                session,
                device_id=op.device_id,
                checked_at=utcnow(),
                **({"status": status, "detail": "in sync"} if state.status == "drifted" else {}),
            )
            session.commit()
            return OpResult("ok", data={"drifted": False})
        row = _save_backup(op, session, running, "drift", good=False)
        detail = f"running config differs from backup #{reference.id}; push to restore it or import to accept"
        update_state(
            session,
            device_id=op.device_id,
            status="drifted",
            detail=detail,
            last_backup_id=row.id,
            checked_at=utcnow(),
        )
        session.commit()
    op.log(detail)
    return OpResult("failed", reason=detail, diff=diff, data={"drifted": True, "backup_id": row.id})


def rollback(op: RouterOp) -> OpResult:
    """Restore ``params.backup_id`` or the newest good backup that differs from the running config."""
    with _session(op) as conn:
        running = ops.read_running(conn, op.profile)
        with op.session_factory() as session:
            wanted = op.params.get("backup_id")
            target = (
                backups.get_backup(session, backup_id=int(wanted))
                if wanted is not None
                else backups.last_good_backup(session, device_id=op.device_id, differing_from=running)
            )
        diff = backups.unified(
            running, target.content, before_label="running", after_label=f"backup #{target.id}"
        )
        if not diff or op.dry_run:
            return OpResult("changed" if diff else "ok", diff=diff, data={"backup_id": target.id})
        restored = ops.restore(conn, op.profile, target.content, log_line=op.log)
    ok = restored == target.content
    with op.session_factory() as session:
        row = _save_backup(op, session, restored, "rollback", good=ok)
        status = "failed" if not ok else ("applied" if target.revision_seq is not None else "baseline")
        update_state(
            session,
            device_id=op.device_id,
            status=status,
            applied_seq=target.revision_seq,
            applied_hash=None,
            reference_backup_id=row.id,
            last_backup_id=row.id,
            checked_at=utcnow(),
            detail=f"rolled back to backup #{target.id}" if ok else "rollback incomplete",
        )
        session.commit()
    if not ok:
        return OpResult(
            "failed",
            reason=f"restoring backup #{target.id} left differences; see backup #{row.id}",
            diff=diff,
        )
    return OpResult("changed", diff=diff, data={"backup_id": target.id, "rollback_backup_id": row.id})
