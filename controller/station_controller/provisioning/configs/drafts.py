"""Drafts: a change to templates or variables stays a draft until published as the next revision."""

from __future__ import annotations

import json
import logging
from typing import Any

from jinja2 import TemplateSyntaxError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...errors import InvalidInput
from ...kernel.clock import utcnow
from ...settings import Settings
from . import desired
from .backups import unified
from .desired import legacy_routers
from .errors import ConfigNotFound, DraftClosed, RenderFailed
from .models import KINDS, SCOPES, ConfigItem, ConfigRevision
from .render import _ENV, latest_seq

log = logging.getLogger(__name__)
MAX_PREVIEW = 500  # devices rendered by a draft diff / publish check


def create_draft(session: Session, *, user: str, message: str = "") -> ConfigRevision:
    draft = ConfigRevision(status="draft", message=message[:500], created_by=user, created_at=utcnow())
    session.add(draft)
    session.commit()
    return draft


def get_revision(session: Session, *, revision_id: int) -> ConfigRevision:
    revision = session.get(ConfigRevision, revision_id)
    if revision is None:
        raise ConfigNotFound(f"no config revision or draft #{revision_id}")
    return revision


def _open_draft(session: Session, draft_id: int) -> ConfigRevision:
    draft = get_revision(session, revision_id=draft_id)
    if draft.status != "draft":
        raise DraftClosed(f"#{draft_id} is {draft.status}; start a new draft for further changes")
    return draft


def _encode(kind: str, name: str, value: Any) -> str:
    if kind == "variable":
        return json.dumps(value, ensure_ascii=False)
    if not isinstance(value, str):
        raise InvalidInput(f"template {name!r}: the body must be text")
    try:
        _ENV.parse(value)
    except TemplateSyntaxError as exc:
        raise RenderFailed(f"template {name!r} line {exc.lineno}: {exc.message}") from exc
    return value


def set_item(
    session: Session,
    *,
    draft_id: int,
    kind: str,
    name: str,
    value: Any = None,
    scope: str = "global",
    scope_key: str = "",
    delete: bool = False,
) -> ConfigItem:
    """Set (or with ``delete`` remove) a template or a variable in a draft; replaces an earlier edit."""
    _open_draft(session, draft_id)
    if kind not in KINDS or scope not in SCOPES or not name or len(name) > 64:
        raise InvalidInput(f"kind must be one of {KINDS}, scope one of {SCOPES}, name 1-64 characters")
    if kind == "template":
        scope, scope_key = "global", ""
    if (scope == "global") != (scope_key == ""):
        raise InvalidInput("scope_key: empty for global, else the region path, station code or device id")
    item = session.scalars(
        select(ConfigItem).where(
            ConfigItem.revision_id == draft_id,
            ConfigItem.kind == kind,
            ConfigItem.scope == scope,
            ConfigItem.scope_key == scope_key,
            ConfigItem.name == name,
        )
    ).first()
    item = item or ConfigItem(revision_id=draft_id, kind=kind, scope=scope, scope_key=scope_key, name=name)
    item.deleted, item.value = delete, "" if delete else _encode(kind, name, value)
    session.add(item)
    session.commit()
    return item


def revision_items(session: Session, *, revision_id: int) -> list[ConfigItem]:
    stmt = select(ConfigItem).where(ConfigItem.revision_id == revision_id).order_by(ConfigItem.id)
    return list(session.scalars(stmt))


def list_revisions(session: Session, *, limit: int = 50) -> list[ConfigRevision]:
    return list(session.scalars(select(ConfigRevision).order_by(ConfigRevision.id.desc()).limit(limit)))


def draft_diff(
    session: Session, *, settings: Settings, draft_id: int, limit: int = MAX_PREVIEW
) -> list[dict[str, str]]:
    """Routers whose rendered config the draft changes (with the diff) or breaks (with the error).

    Unaffected routers are left out; at most ``limit`` entries, errors first.
    """
    get_revision(session, revision_id=draft_id)
    routers, seq = legacy_routers(session), latest_seq(session)
    new = desired.render_all(session, settings=settings, routers=routers, seq=seq, draft_id=draft_id)
    old = desired.render_all(session, settings=settings, routers=routers, seq=seq)
    errors, changed = [], []
    for device, _profile in routers:
        after, before = new[device.id], old[device.id]
        entry = {"device_id": device.id, "station_code": device.station.code, "diff": "", "error": ""}
        if isinstance(after, RenderFailed):
            errors.append({**entry, "error": after.detail})
            continue
        before_text = "" if isinstance(before, RenderFailed) else before.fragment
        diff = unified(
            before_text, after.fragment, before_label=f"revision {seq}", after_label=f"draft #{draft_id}"
        )
        if diff:
            changed.append({**entry, "diff": diff})
    return (errors + changed)[:limit]


def publish_draft(session: Session, *, settings: Settings, draft_id: int, user: str) -> ConfigRevision:
    """Make the draft the next revision, if it renders for every legacy router; store their new hashes.

    Raises:
        RenderFailed: some router's config does not render with the draft (each one is listed).
    """
    draft = _open_draft(session, draft_id)
    seq = latest_seq(session) + 1
    routers = legacy_routers(session)
    outcomes = desired.render_all(session, settings=settings, routers=routers, seq=seq - 1, draft_id=draft_id)
    errors = [f"{device_id}: {r.detail}" for device_id, r in outcomes.items() if isinstance(r, RenderFailed)]
    if errors:
        raise RenderFailed(
            "the draft does not render for every router; fix it first:\n" + "\n".join(errors[:20]),
            extra={"errors": errors[:100]},
        )
    draft.status, draft.seq = "published", seq
    draft.published_by, draft.published_at = user, utcnow()
    desired.store(session, seq=seq, outcomes=outcomes)
    session.commit()
    log.info(
        "config revision %d published (draft #%d) by %s; %d routers rendered",
        seq,
        draft.id,
        user,
        len(outcomes),
    )
    return draft


def discard_draft(session: Session, *, draft_id: int) -> ConfigRevision:
    draft = _open_draft(session, draft_id)
    draft.status = "discarded"
    session.commit()
    return draft
